package snapshot

import (
	"fmt"

	"tapelab/volume"
)

var errNotImplemented = fmt.Errorf("snapshot: not implemented yet")

func validateName(string) error                                { return errNotImplemented }
func create(*volume.Volume, string) (Info, error)              { return Info{}, errNotImplemented }
func autoBackupName(*volume.Volume) string                     { return AutoBackupPrefix + "0" }
func del(*volume.Volume, string) (int64, error)                { return 0, errNotImplemented }
func list(*volume.Volume) ([]Info, error)                      { return nil, errNotImplemented }
func show(*volume.Volume, string) (Info, error)                { return Info{}, errNotImplemented }
func lock(*volume.Volume, string, string) (func(), error)      { return nil, errNotImplemented }
func view(*volume.Volume, string) (*volume.View, error)        { return nil, errNotImplemented }
func diff(*volume.Volume, string, string) (*DiffResult, error) { return nil, errNotImplemented }
