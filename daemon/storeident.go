package daemon

import (
	"errors"
	"os"
)

// servesStore checks that path names the store file this daemon holds, by
// identity (the path may since point at another file): the CLI names the
// store it means on every request on the API's socket (admin.StoreHeader),
// and a daemon of another store, or of a file replaced since it started,
// does not answer in its place.
func (d *Daemon) servesStore(path string) error {
	theirs, err := os.Stat(path)
	if err != nil || d.stFile == nil {
		return errors.New("this daemon serves " + d.st.Path() + ", not " + path)
	}
	if os.SameFile(d.stFile, theirs) {
		return nil
	}
	if now, err := os.Stat(d.st.Path()); err == nil && os.SameFile(now, theirs) {
		return errors.New("this daemon holds an older file that was at " + d.st.Path() +
			" (deleted or replaced since it started): restart it to serve the new one")
	}
	return errors.New("this daemon serves " + d.st.Path() + ", not " + path)
}
