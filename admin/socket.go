package admin

// The owner's socket. Besides its optional TCP listener (bearer tokens and
// browser sessions), the tier serves the same handler on a unix socket
// next to the store (Config.Socket): the CLI's way to a running daemon.
// Who may connect is decided by the file system, as for the store file
// itself: the socket is the daemon user's, mode 0600. Every request on it
// then acts as the platform owner, named for the audit log by the kernel's
// word for the client process (SO_PEERCRED): principal "cli:alice", path
// "cli" (actorOf). A connection from any other uid but root is refused
// even if the mode is loosened by hand.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// maxSocketPath is the longest path a unix socket can be bound to (the
// kernel's sun_path holds 108 bytes with the terminating NUL).
const maxSocketPath = 107

// StoreHeader names the store file the CLI means (an absolute path). On
// the socket the daemon answers 409 unless it holds that very file
// (WithStoreCheck), so a daemon of another store never answers in its
// place.
const StoreHeader = "Callgate-Store"

// localPeer is the process at the other end of a socket connection, as the
// kernel says.
type localPeer struct {
	uid  uint32
	name string // the uid's login name, or "uid N"
	err  error  // why the kernel could not say
}

type localPeerKey struct{}

// WithStoreCheck sets how the socket checks that this daemon holds the
// store a CLI request names (StoreHeader): nil, or why not.
func WithStoreCheck(check func(path string) error) Option {
	return func(t *Tier) { t.storeCheck = check }
}

// checkSocketPath validates Config.Socket.
func checkSocketPath(p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("api.socket %q: want an absolute path", p)
	}
	if len(p) > maxSocketPath {
		return fmt.Errorf("api.socket %q: %d bytes, longer than a unix socket path may be (%d): set api.socket to a shorter path", p, len(p), maxSocketPath)
	}
	return nil
}

// socket is the running socket server.
type socket struct {
	path string
	srv  *http.Server
	ln   net.Listener
	fi   os.FileInfo // the socket file as created, to remove only our own
	done chan struct{}
}

// listenSocket binds the socket with mode 0600 from the start: it is bound
// in a fresh private directory (0700), given its mode and only then renamed
// into place, so no other user can connect in between (a chmod after a
// bind at the final path would leave a window; the umask is process-wide).
// A socket left by a daemon that died is replaced; one another daemon
// still answers on is not.
func listenSocket(path string) (net.Listener, os.FileInfo, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, nil, fmt.Errorf("api.socket %s: exists and is not a socket; move it away or set api.socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, nil, fmt.Errorf("api.socket %s: another callgate daemon answers there (a second store in this folder?): set api.socket for one of them", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, nil, fmt.Errorf("api.socket %s: removing the socket of a daemon that is gone: %w", path, err)
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".cg")
	if err != nil {
		return nil, nil, fmt.Errorf("api.socket %s: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	bound := filepath.Join(tmp, "s")
	ln, err := net.Listen("unix", bound)
	if err != nil {
		return nil, nil, fmt.Errorf("api.socket %s: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false) // it is renamed: Stop removes it
	if err := os.Chmod(bound, 0o600); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("api.socket %s: %w", path, err)
	}
	if err := os.Rename(bound, path); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("api.socket %s: %w", path, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("api.socket %s: %w", path, err)
	}
	return ln, fi, nil
}

// startSocket serves the handler on Config.Socket, if set.
func (t *Tier) startSocket() error {
	if t.cfg.Socket == "" {
		return nil
	}
	ln, fi, err := listenSocket(t.cfg.Socket)
	if err != nil {
		return err
	}
	s := &socket{path: t.cfg.Socket, ln: ln, fi: fi, done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           t.socketHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, localPeerKey{}, peerOf(c))
		},
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.fail(fmt.Errorf("api socket: %w", err))
		}
	}()
	t.sock = s
	return nil
}

// socketHandler is the tier's handler behind the store check.
func (t *Tier) socketHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.Header.Get(StoreHeader); p != "" && t.storeCheck != nil {
			if err := t.storeCheck(p); err != nil {
				writeProblem(w, &apiError{status: http.StatusConflict, field: StoreHeader, err: err})
				return
			}
		}
		t.handler.ServeHTTP(w, r)
	})
}

// drainSocket stops taking requests on the socket and waits for those in
// progress.
func (t *Tier) drainSocket(ctx context.Context) error {
	if t.sock == nil {
		return nil
	}
	return t.sock.srv.Shutdown(ctx)
}

// stopSocket closes the socket and removes its file (if it is still ours).
func (t *Tier) stopSocket(ctx context.Context) error {
	s := t.sock
	if s == nil {
		return nil
	}
	err := s.srv.Close()
	select {
	case <-s.done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	if fi, serr := os.Lstat(s.path); serr == nil && os.SameFile(fi, s.fi) {
		if rerr := os.Remove(s.path); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// peerOf asks the kernel who is at the other end of c.
func peerOf(c net.Conn) localPeer {
	uid, err := peerUID(c)
	if err != nil {
		return localPeer{err: err}
	}
	return localPeer{uid: uid, name: userName(uid)}
}

// userName is uid's login name, or "uid N" when it has none.
func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid " + id
}

// authenticateLocal admits the socket's client as the platform owner if it
// runs as the daemon's user or root; else it answers 403.
func (t *Tier) authenticateLocal(w http.ResponseWriter, p localPeer) (principal, bool) {
	if p.err != nil {
		writeProblem(w, &apiError{status: http.StatusForbidden, field: "socket",
			err: fmt.Errorf("cannot tell who is connected to %s: %v", t.cfg.Socket, p.err)})
		return principal{}, false
	}
	if p.uid != t.ownerUID && p.uid != 0 {
		writeProblem(w, &apiError{status: http.StatusForbidden, field: "socket",
			err: fmt.Errorf("%s (uid %d) may not use %s: it is the platform owner's, the user running callgate serve (%s, uid %d)",
				p.name, p.uid, t.cfg.Socket, userName(t.ownerUID), t.ownerUID)})
		return principal{}, false
	}
	return principal{local: p.name}, true
}
