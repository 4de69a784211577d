package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"tapelab/admin"
	"tapelab/vtl"
)

// Tape file transfer: copy one tape file of a cartridge (the records
// between two filemarks) to a plain file, or append a plain file to a
// cartridge as records followed by a filemark. This is how an image taken
// by tapelab's dump engine reaches Linux `restore -f FILE`, and how a Linux
// `dump -f FILE` image reaches a cartridge for a restore over NDMP.
//
// Both go through a drive of the cartridge's library with the vtl Go API:
// the drive already holding the cartridge, else a free drive into which the
// cartridge is loaded for the transfer and unloaded after (it returns to
// its slot). A cartridge in the vault must be imported into a library
// first. The drive is reserved for the transfer (a drive in use by an NDMP
// session gives "Tape is currently in use by other operations"); a drive
// that held the cartridge before gets its position back afterwards.

func init() { vtlCalls = append(vtlCalls, registerVTLTransferCalls) }

// TapeTransferOwner is the reservation owner of a transfer.
const TapeTransferOwner = "vtl-transfer"

// DefaultTransferRecordSize is the record size of ImportTapeFile by default.
const DefaultTransferRecordSize = 64 << 10

// TapeFileArgs are the arguments of vtl.tape.export-file and
// vtl.tape.import-file. Path is a file on the node's machine (the CLI
// passes an absolute path).
type TapeFileArgs struct {
	Barcode    string `json:"barcode"`
	File       int    `json:"file"`                  // export: tape file number, counted from 0
	Path       string `json:"path"`                  // export: written (created or truncated); import: read
	RecordSize int    `json:"record_size,omitempty"` // import: bytes per record (4 KiB..256 KiB), default 64 KiB
}

// TapeFileResult describes a transfer.
type TapeFileResult struct {
	Barcode string `json:"barcode"`
	Drive   string `json:"drive"`
	File    int    `json:"tape_file"` // export: the file read; import: the file written
	Records int64  `json:"records"`
	Bytes   int64  `json:"bytes"`
	// Terminated is false for an export that reached end of data before a
	// filemark (an unfinished image).
	Terminated bool `json:"terminated"`
}

func registerVTLTransferCalls(n *Node, m *admin.Mux) error {
	inv := n.VTL()
	handle(m, "vtl.tape.export-file", func(ctx context.Context, in TapeFileArgs) (any, error) {
		if !filepath.IsAbs(in.Path) {
			return nil, fmt.Errorf("export-file: output path %q must be absolute: %w", in.Path, vtl.ErrInvalid)
		}
		f, err := os.OpenFile(in.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("export-file: %w", err)
		}
		res, err := ExportTapeFile(ctx, inv, in.Barcode, in.File, f)
		if e := f.Close(); err == nil && e != nil {
			err = fmt.Errorf("export-file: %w", e)
		}
		if err != nil {
			os.Remove(in.Path)
			return nil, err
		}
		return res, nil
	})
	handle(m, "vtl.tape.import-file", func(ctx context.Context, in TapeFileArgs) (any, error) {
		if !filepath.IsAbs(in.Path) {
			return nil, fmt.Errorf("import-file: input path %q must be absolute: %w", in.Path, vtl.ErrInvalid)
		}
		f, err := os.Open(in.Path)
		if err != nil {
			return nil, fmt.Errorf("import-file: %w", err)
		}
		defer f.Close()
		return ImportTapeFile(ctx, inv, in.Barcode, f, in.RecordSize)
	})
	return nil
}

// ExportTapeFile writes the records of tape file file of cartridge barcode
// to w, back to back, and stops at the filemark ending the file (or at end
// of data: Terminated false).
func ExportTapeFile(ctx context.Context, inv *vtl.Inventory, barcode string, file int, w io.Writer) (TapeFileResult, error) {
	res := TapeFileResult{Barcode: barcode, File: file}
	if file < 0 {
		return res, fmt.Errorf("export-file %s: tape file %d: %w", barcode, file, vtl.ErrInvalid)
	}
	err := withCartridgeDrive(inv, barcode, func(d *vtl.Drive) error {
		res.Drive = d.Name()
		if err := d.LocateFile(uint64(file)); err != nil {
			return fmt.Errorf("export-file %s: %w", barcode, err)
		}
		buf := make([]byte, vtl.MaxBlockSize)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := d.ReadRecord(buf)
			switch {
			case errors.Is(err, vtl.ErrFilemark):
				res.Terminated = true
				return nil
			case errors.Is(err, vtl.ErrEOD):
				if res.Records == 0 {
					return fmt.Errorf("export-file %s: tape file %d: %w", barcode, file, err)
				}
				return nil
			case err != nil:
				return fmt.Errorf("export-file %s: tape file %d record %d: %w", barcode, file, res.Records, err)
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("export-file %s: %w", barcode, err)
			}
			res.Records++
			res.Bytes += int64(n)
		}
	})
	return res, err
}

// ImportTapeFile appends r to cartridge barcode after its last object, as
// records of recordSize bytes (0: 64 KiB; the last one may be shorter),
// and writes a filemark after them. The result names the new tape file.
func ImportTapeFile(ctx context.Context, inv *vtl.Inventory, barcode string, r io.Reader, recordSize int) (TapeFileResult, error) {
	res := TapeFileResult{Barcode: barcode, Terminated: true}
	if recordSize == 0 {
		recordSize = DefaultTransferRecordSize
	}
	if err := vtl.CheckRecordSize(recordSize); err != nil {
		return res, fmt.Errorf("import-file %s: %w", barcode, err)
	}
	err := withCartridgeDrive(inv, barcode, func(d *vtl.Drive) error {
		res.Drive = d.Name()
		if _, err := d.Space(vtl.SpaceEOD, 0); err != nil && !errors.Is(err, vtl.ErrEOD) {
			return fmt.Errorf("import-file %s: space to end of data: %w", barcode, err)
		}
		p, err := d.Position()
		if err != nil {
			return fmt.Errorf("import-file %s: %w", barcode, err)
		}
		res.File = int(p.File)
		if p.BlockInFile > 0 {
			// The last image is not terminated: the new one starts after
			// a filemark of its own.
			if err := d.WriteFilemarks(1); err != nil {
				return fmt.Errorf("import-file %s: %w", barcode, err)
			}
			res.File++
		}
		buf := make([]byte, recordSize)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, rerr := io.ReadFull(r, buf)
			if n > 0 {
				if err := d.WriteRecord(buf[:n]); err != nil && !errors.Is(err, vtl.ErrEarlyWarning) {
					return fmt.Errorf("import-file %s: record %d: %w", barcode, res.Records, err)
				}
				res.Records++
				res.Bytes += int64(n)
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				break
			}
			if rerr != nil {
				return fmt.Errorf("import-file %s: %w", barcode, rerr)
			}
		}
		if err := d.WriteFilemarks(1); err != nil && !errors.Is(err, vtl.ErrEarlyWarning) {
			return fmt.Errorf("import-file %s: filemark: %w", barcode, err)
		}
		return nil
	})
	return res, err
}

// withCartridgeDrive runs fn with a drive holding barcode, reserved for
// the transfer: the drive it is in (its position restored afterwards), else
// a free drive of its library (loaded for fn, unloaded after).
func withCartridgeDrive(inv *vtl.Inventory, barcode string, fn func(d *vtl.Drive) error) (err error) {
	ci, err := inv.Cartridge(barcode)
	if err != nil {
		return err
	}
	loc := ci.Location
	var d *vtl.Drive
	loadedHere := false
	switch {
	case loc.Library == "":
		return fmt.Errorf("cartridge %s is in the vault: import it into a library first (tapelab vtl tape import): %w", barcode, vtl.ErrInvalid)
	case loc.Element == vtl.ElementDrive:
		if d, err = inv.Drive(loc.Drive); err != nil {
			return err
		}
	default:
		lib, err := inv.Library(loc.Library)
		if err != nil {
			return err
		}
		for _, cand := range lib.Drives() {
			if _, full := cand.Cartridge(); !full && cand.Owner() == "" && cand.Online() {
				d = cand
				break
			}
		}
		if d == nil {
			return fmt.Errorf("cartridge %s: no free drive in library %s: %w", barcode, loc.Library, vtl.ErrReservationConflict)
		}
		if err := inv.LoadCartridge(barcode, d.Name()); err != nil {
			return err
		}
		loadedHere = true
	}
	if err := d.Reserve(TapeTransferOwner); err != nil {
		if loadedHere {
			inv.UnloadCartridge(d.Name())
		}
		return err
	}
	defer func() {
		if e := d.Release(TapeTransferOwner); err == nil {
			err = e
		}
		if loadedHere {
			if _, e := inv.UnloadCartridge(d.Name()); err == nil && e != nil {
				err = fmt.Errorf("unload %s: %w", d.Name(), e)
			}
		}
	}()
	if !d.Info().Loaded {
		if err := d.Load(); err != nil {
			return err
		}
	}
	var before *vtl.Position
	if !loadedHere {
		if p, err := d.Position(); err == nil {
			before = &p
		}
	}
	err = fn(d)
	if e := d.Sync(); err == nil {
		err = e
	}
	if before != nil {
		if e := d.Locate(before.Block); err == nil && e != nil && !errors.Is(e, vtl.ErrEOD) {
			err = e
		}
	} else if e := d.Rewind(); err == nil {
		err = e
	}
	return err
}
