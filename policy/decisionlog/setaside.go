package decisionlog

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A damaged decisions.db (checkFile) is renamed, never deleted: it may be
// the only record of the calls it holds, and whoever investigates them
// wants the bytes as they were. Open then starts a new, empty log in its
// place, so the daemon starts and goes on logging; the way journald treats
// a damaged journal. The file set aside is outside the retention bounds:
// nothing prunes or removes it.

// setAsideLayout names the file set aside: decisions.db.damaged-<UTC time>.
const setAsideLayout = "20060102T150405Z"

// setAsideIfDamaged checks the file at path before it is opened for
// writing and, if it is damaged, renames it aside and logs one ERROR line
// saying where and why. It returns the new name ("" when the file is
// sound or does not exist), or an error when the file cannot be checked
// (held by another process) or, damaged, cannot be renamed.
func setAsideIfDamaged(path string, now time.Time, logger *slog.Logger) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || err == nil && fi.Size() == 0 {
		return "", nil // a new file
	}
	if err != nil {
		return "", fmt.Errorf("decisionlog: %w", err)
	}
	// Held open read-only (a shared lock) while it is read, so that no
	// writer changes it meanwhile; bbolt's read-only open reads only the
	// meta pages, and fails, without panicking, when both are invalid.
	db, oerr := openDB(path, true)
	if errors.Is(oerr, errLocked) {
		return "", oerr
	}
	cerr := checkFile(path)
	if db != nil {
		_ = db.Close()
	}
	if !errors.Is(cerr, errDamaged) {
		// Sound, or not checkable (permissions): opening says why.
		return "", errors.Join(oerr, cerr)
	}
	aside, err := freeName(path + ".damaged-" + now.UTC().Format(setAsideLayout))
	if err == nil {
		err = os.Rename(path, aside)
	}
	if err != nil {
		return "", fmt.Errorf("decisionlog: %s is damaged (%w) and could not be set aside: %w; move it away to start a new log", path, cerr, err)
	}
	logger.Error("decision log file damaged: set aside, a new log started; calls are answered and logged as before",
		"path", path, "set_aside", aside, "damage", cerr.Error())
	return aside, nil
}

// freeName returns name, or name.1, name.2, ... if it is taken: a file set
// aside earlier is never overwritten.
func freeName(name string) (string, error) {
	for i := 0; i < 1000; i++ {
		n := name
		if i > 0 {
			n += "." + strconv.Itoa(i)
		}
		if _, err := os.Lstat(n); errors.Is(err, os.ErrNotExist) {
			return n, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: 1000 files of that name already", name)
}

// SetAside returns where Open moved a damaged log file ("" if it did not).
func (l *Log) SetAside() string {
	if l == nil {
		return ""
	}
	return l.setAside
}

// view and update run fn in a bbolt transaction. bbolt panics on a page it
// finds damaged (and a read past the file's end faults): in a search that
// would end the CLI, or the daemon from an API handler, and in the writer
// the daemon, with its calls. Either is returned as an error naming the
// file instead; for the writer a failed commit, counted and reported like
// a full disk (health.go), while the calls go on. bbolt rolls the
// transaction back as the panic passes.
func (l *Log) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer l.recoverDamage(&err)
	return l.db.View(fn)
}

func (l *Log) update(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer l.recoverDamage(&err)
	return l.db.Update(fn)
}

func (l *Log) recoverDamage(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: %v; callgate serve sets the file aside at its next start", errDamaged, l.path, r)
	}
}
