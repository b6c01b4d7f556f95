package boltkv

// CloseWithoutCleanup closes the file leaving ephemeral keys in place, as a
// killed process would.
func CloseWithoutCleanup(d *DB) {
	d.mu.Lock()
	d.closed = true
	d.subs = nil
	d.mu.Unlock()
	d.db.Close()
}
