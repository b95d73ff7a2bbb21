package agentd

import (
	cryptorand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"baton/protocol"
)

// credentialFile, in the workdir, holds the agent's credentials: the
// secret that proves its name to a server (see protocol's Identity). Only
// the agent's user may read it.
const credentialFile = "agent-credential"

// credentials is the content of the credential file: one credential per
// server and name, so that an agent pointed at another server never shows
// it the credential of the first, and a new --name registers anew.
type credentials struct {
	Credentials []credential `json:"credentials"`
}

// credential is what proves one name to one server.
type credential struct {
	Server     string    `json:"server"`
	Name       string    `json:"name"`
	Credential string    `json:"credential"`
	Created    time.Time `json:"created"`
}

// loadCredential returns the credential for name on server kept in the
// workdir, making and saving one first when there is none. It is written
// before the first hello carries it, so a crash cannot leave the server
// holding a credential the agent lost. A file others may read is made
// private again.
func loadCredential(workdir, server, name string) (string, error) {
	path := filepath.Join(workdir, credentialFile)
	var all credentials
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", fmt.Errorf("read the agent's credential: %w", err)
	default:
		if err := json.Unmarshal(data, &all); err != nil {
			return "", fmt.Errorf("the agent's credential file %s is damaged (%v): move it away and start again; the agent then registers anew, after an operator resets its credential on the server", path, err)
		}
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return "", fmt.Errorf("make the agent's credential file %s private: %w", path, err)
			}
		}
	}
	for _, c := range all.Credentials {
		if c.Server == server && c.Name == name {
			if err := protocol.CheckCredential(c.Credential); err != nil {
				return "", fmt.Errorf("the agent's credential file %s holds a bad credential for %s at %s (%v): move the file away and start again", path, name, server, err)
			}
			return c.Credential, nil
		}
	}
	var b [32]byte
	if _, err := cryptorand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make the agent's credential: %w", err)
	}
	c := credential{Server: server, Name: name, Credential: hex.EncodeToString(b[:]), Created: time.Now().UTC()}
	all.Credentials = append(all.Credentials, c)
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return "", fmt.Errorf("workdir %s: %w", workdir, err)
	}
	if err := writePrivateFile(path, all); err != nil {
		return "", fmt.Errorf("keep the agent's credential in %s: %w", path, err)
	}
	return c.Credential, nil
}

// writePrivateFile writes v as JSON to path, readable by its owner only,
// whole or not at all, and flushed to disk.
func writePrivateFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
