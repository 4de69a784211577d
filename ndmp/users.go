package ndmp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"tapelab/ndmp/wire"
)

// ErrNoUser is returned for an unknown NDMP user.
var ErrNoUser = errors.New("ndmp: no such user")

// UserStore holds the NDMP-specific passwords (ONTAP's SVM-scoped mode:
// each user has a password used only for NDMP). It persists as JSON
// {"users":{"name":"password"}} in a 0600 file; an empty path keeps it in
// memory only.
type UserStore struct {
	mu    sync.Mutex
	path  string
	users map[string]string
	rand  io.Reader
}

type userFile struct {
	Users map[string]string `json:"users"`
}

// OpenUserStore loads (or creates empty) the store at path.
func OpenUserStore(path string) (*UserStore, error) {
	s := &UserStore{path: path, users: map[string]string{}, rand: rand.Reader}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ndmp users: %w", err)
	}
	var f userFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("ndmp users %s: %w", path, err)
	}
	if f.Users != nil {
		s.users = f.Users
	}
	return s, nil
}

func (s *UserStore) saveLocked() error {
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(userFile{Users: s.users}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

// Add sets user's NDMP password.
func (s *UserStore) Add(user, password string) error {
	if user == "" || password == "" {
		return fmt.Errorf("ndmp users: user and password must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[user] = password
	return s.saveLocked()
}

// Remove deletes a user.
func (s *UserStore) Remove(user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[user]; !ok {
		return fmt.Errorf("%w: %s", ErrNoUser, user)
	}
	delete(s.users, user)
	return s.saveLocked()
}

const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// GeneratePassword gives user a fresh random 16-character NDMP password
// (like ONTAP's `vserver services ndmp generate-password`), stores and
// returns it.
func (s *UserStore) GeneratePassword(user string) (string, error) {
	if user == "" {
		return "", fmt.Errorf("ndmp users: empty user name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var pw [16]byte
	buf := make([]byte, 64)
	n := 0
	for n < len(pw) {
		if _, err := io.ReadFull(s.rand, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			// 248 = 4*62: reject the tail so every letter is equally likely.
			if b < 248 && n < len(pw) {
				pw[n] = passwordAlphabet[int(b)%len(passwordAlphabet)]
				n++
			}
		}
	}
	s.users[user] = string(pw[:])
	if err := s.saveLocked(); err != nil {
		return "", err
	}
	return string(pw[:]), nil
}

// Users lists user names, sorted.
func (s *UserStore) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for u := range s.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// CheckText verifies a plaintext password.
func (s *UserStore) CheckText(user, password string) bool {
	s.mu.Lock()
	pw, ok := s.users[user]
	s.mu.Unlock()
	return ok && subtle.ConstantTimeCompare([]byte(pw), []byte(password)) == 1
}

// CheckMD5 verifies an NDMP MD5 digest over challenge.
func (s *UserStore) CheckMD5(user string, challenge [64]byte, digest [16]byte) bool {
	s.mu.Lock()
	pw, ok := s.users[user]
	s.mu.Unlock()
	if !ok {
		return false
	}
	want := wire.MD5Digest(pw, challenge)
	return subtle.ConstantTimeCompare(want[:], digest[:]) == 1
}

func (s *UserStore) password(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[user]
}
