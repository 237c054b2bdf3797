package main

import (
	"path/filepath"

	"github.com/onegrid/onegrid/seal"
)

// dataKeyName is the data key's file in the embedded database's data directory.
const dataKeyName = "data.key"

// dataKey is the key that seals clear personal values (package seal): the file
// --data-key-file names, else with the embedded database data.key in its data
// directory; either is created (0600, a new random key) at first use. With
// --database-url and no --data-key-file there is none (nil): gen and ingest
// store personal data only masked and hashed, and serve answers unmasking
// with an error saying so. The key never enters the database.
func (m *Main) dataKey() (*seal.Key, error) {
	path := m.Config.DataKeyFile
	if path == "" {
		if m.Config.DatabaseURL != "" {
			return nil, nil
		}
		path = filepath.Join(m.Config.DataDir, dataKeyName)
	}
	k, created, err := seal.LoadOrCreate(path)
	if err != nil {
		return nil, err
	}
	if created {
		m.Log.Info("created the data key: back it up, sealed personal values cannot be opened without it", "file", path, "key_id", k.ID())
	}
	return k, nil
}
