// Package storetest builds stores for the tests and benchmarks of other
// packages: a small demo store with one of everything (Fixture), and a large
// store (Large) with millions of Blocked rows, cached on disk between runs.
package storetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"callgate/e164"
	"callgate/store"

	"golang.org/x/crypto/bcrypt"
)

// Demo data built by Fixture. Numbers are given in +E.164 form.
const (
	Route          = "b2bua"
	RoutingNumber  = "+13035559999"
	RouteURI       = "sip:screen@b2bua.example.net"
	OtherRoute     = "b2bua-west"
	OtherRouteURI  = "sip:screen@west.example.net"
	OtherRoutingNo = "+17205559999"

	Provider        = "acme" // allocation +13035550100..+13035550199, default route
	ProviderRange   = "+13035550100..+13035550199"
	OtherProvider   = "globex" // allocation +17205550100..+17205550199, OtherRoute, Reject with Media on by default
	OtherRange      = "+17205550100..+17205550199"
	ProviderBlocked = "+19005550111" // on acme's provider-wide Blocked list

	Alice         = "alice" // acme; all platform defaults; PIN set; VIP and Blocked entries
	AliceNumber   = "+13035550100"
	AliceNumber2  = "+13035550110" // Alice's second number
	AlicePIN      = "2468"
	VIPCaller     = "+14155550123" // on Alice's VIP list
	BlockedCaller = "+12125550199" // on Alice's Blocked list
	UnknownCaller = "+16175550142" // on no list anywhere

	Bob       = "bob" // acme; unknown -> block, anonymous -> announce-voicemail, Reject with Media on, voicemail set
	BobNumber = "+13035550101"
	BobVM     = "sip:vm-bob@vm.example.net"
	BobAnn    = 7

	Carol       = "carol" // globex; may change nothing; its own unknown=allow (her choice) is ignored (locked)
	CarolNumber = "+17205550100"

	Enterprise       = "initech"
	EnterpriseNumber = "+15125550100"
)

// Open returns an empty store in a temporary directory, closed when the
// test ends. To keep tests fast, PIN hashing uses bcrypt's minimum cost and
// commits skip fsync (the file is thrown away; crash safety is tested with
// real fsyncs in store's own kill test).
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	s, err := store.Open(filepath.Join(tb.TempDir(), "callgate.db"), store.Options{PINCost: bcrypt.MinCost, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// callgate's own writes follow the key space's rules: none makes
		// the change feed complain.
		if n, err := s.FeedErrors(); n != 0 {
			tb.Errorf("%d change-feed error(s), the last: %v", n, err)
		}
		s.Close()
	})
	return s
}

// Fixture returns a store holding the demo data described by this
// package's constants.
func Fixture(tb testing.TB) *store.Store {
	tb.Helper()
	s := Open(tb)
	if err := Populate(s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Populate writes the demo data into s through the ordinary write API.
func Populate(s *store.Store) error {
	none := store.PermNone
	steps := []func() error{
		func() error {
			_, err := s.SetRoute(store.Operator, store.RouteSpec{Name: Route, RoutingNumber: RoutingNumber, SIPURI: RouteURI})
			return err
		},
		func() error {
			_, err := s.SetRoute(store.Operator, store.RouteSpec{Name: OtherRoute, RoutingNumber: OtherRoutingNo, SIPURI: OtherRouteURI})
			return err
		},
		func() error { return s.SetDefaultRoute(store.Operator, Route) },
		func() error {
			_, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: Provider})
			return err
		},
		func() error {
			_, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: OtherProvider, Route: OtherRoute,
				Defaults: store.Settings{RejectWithMedia: store.ToggleOn}, DefaultPermissions: &none})
			return err
		},
		func() error { return allocate(s, Provider, ProviderRange) },
		func() error { return allocate(s, OtherProvider, OtherRange) },
		func() error {
			_, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: Alice, Provider: Provider, Numbers: []string{AliceNumber, AliceNumber2}})
			return err
		},
		func() error {
			_, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: Bob, Provider: Provider, Numbers: []string{BobNumber},
				Settings: store.Settings{Unknown: store.TreatBlock, Anonymous: store.TreatAnnounceVoicemail,
					RejectWithMedia: store.ToggleOn, Voicemail: BobVM, Announcement: BobAnn}})
			return err
		},
		// Carol chose to let unknown callers ring while she could; her
		// provider then locked everything, so her choice is stored but
		// its default applies.
		func() error {
			all := store.PermAll
			_, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: Carol, Provider: OtherProvider, Numbers: []string{CarolNumber},
				Permissions: &all})
			return err
		},
		func() error {
			allow := store.TreatAllow
			_, err := s.SetTreatments(store.SubscriberActor(Carol), Carol, store.SettingsUpdate{Unknown: &allow})
			return err
		},
		func() error {
			_, err := s.SetPermissions(store.Operator, Carol, store.PermNone)
			return err
		},
		func() error { return s.SetPIN(store.Operator, Alice, AlicePIN) },
		func() error {
			_, err := s.AddToList(store.Operator, Alice, store.ListVIP, []string{VIPCaller}, "mum")
			return err
		},
		func() error {
			_, err := s.AddToList(store.Operator, Alice, store.ListBlocked, []string{BlockedCaller}, "car warranty")
			return err
		},
		func() error {
			_, err := s.AddToList(store.Operator, store.ProviderPrefix+Provider, store.ListBlocked, []string{ProviderBlocked}, "premium-rate scam")
			return err
		},
		func() error {
			_, err := s.CreateEnterprise(store.Operator, store.EnterpriseSpec{Name: Enterprise, Provider: Provider, Numbers: []string{EnterpriseNumber}})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("storetest: demo data step %d: %w", i+1, err)
		}
	}
	return nil
}

func allocate(s *store.Store, provider, rng string) error {
	r, err := store.ParseRange(rng)
	if err != nil {
		return err
	}
	return s.AllocateNumbers(store.Operator, provider, r)
}

// Large-store layout, so benchmarks know what to look up.
const (
	LargeProvider       = "bulk"
	largeSubscriberBase = 12122000000 // +1 212 200 0000: subscriber i is base+i
	// LargeProviderBlockedRows is the size of the provider-wide Blocked list.
	LargeProviderBlockedRows = 1000
	// largeGenerator changes whenever Large's content changes, so stale
	// cached files are not reused.
	largeGenerator = 2
)

// LargeSubscriberNumber is the number of subscriber i (0-based) of a Large store.
func LargeSubscriberNumber(i int) e164.Number { return e164.Number(largeSubscriberBase + i) }

// LargeBlocked is the j-th Blocked caller (j < entriesPerSubscriber) of
// subscriber i.
func LargeBlocked(i, j int) e164.Number { return nanp(uint64(i)*7919 + uint64(j)*1000003) }

// LargeVIP is the one VIP caller of subscriber i of a Large store built with
// entriesPerSubscriber rows; it is on no Blocked list of that subscriber.
func LargeVIP(i, entriesPerSubscriber int) e164.Number { return LargeBlocked(i, entriesPerSubscriber) }

// LargeUnlisted is a caller on neither list of subscriber i.
func LargeUnlisted(i, entriesPerSubscriber int) e164.Number {
	return LargeBlocked(i, entriesPerSubscriber+1)
}

// LargeProviderBlocked is the k-th row of the provider-wide Blocked list.
func LargeProviderBlocked(k int) e164.Number {
	return e164.Number(19005000000 + uint64(k)) // +1 900 500 xxxx
}

// nanp maps x onto valid NANP numbers (NPA and NXX 200-999), one-to-one for
// x below 6.4e9. For a fixed subscriber, j*1000003 stays below that for
// j < 6399, so a subscriber's rows are distinct.
func nanp(x uint64) e164.Number {
	const lines, nxx = 10000, 800
	x %= 800 * nxx * lines
	npa := 200 + x/(nxx*lines)
	ex := 200 + (x/lines)%nxx
	return e164.Number(10000000000 + npa*10000000 + ex*10000 + x%lines)
}

// Large returns a read-only store with subscribers subscribers of provider
// LargeProvider (numbers LargeSubscriberNumber(i)), each with
// entriesPerSubscriber Blocked rows (LargeBlocked) and one VIP row
// (LargeVIP), a provider Blocked list of LargeProviderBlockedRows rows and a
// default route. The file is built once with BulkLoad and cached under
// os.TempDir() keyed by its parameters and the schema version; later calls
// (and later test runs) reuse it. Building 100,000 x 100 takes tens of
// seconds once.
func Large(tb testing.TB, subscribers, entriesPerSubscriber int) *store.Store {
	tb.Helper()
	if subscribers <= 0 || subscribers > 1000000 || entriesPerSubscriber < 0 || entriesPerSubscriber > 6000 {
		tb.Fatalf("storetest.Large(%d, %d): want 1..1000000 subscribers and 0..6000 rows each", subscribers, entriesPerSubscriber)
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("callgate-large-s%d-g%d-%dx%d.db",
		store.SchemaVersion, largeGenerator, subscribers, entriesPerSubscriber))
	s, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			tb.Logf("storetest: cached %s unusable (%v); rebuilding", path, err)
		}
		if err := buildLarge(path, subscribers, entriesPerSubscriber); err != nil {
			tb.Fatal(err)
		}
		if s, err = store.Open(path, store.Options{ReadOnly: true}); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// buildLarge writes the Large file under a temporary name and renames it
// into place, so concurrent test processes never see a half-built cache.
func buildLarge(path string, subscribers, perSub int) error {
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	os.Remove(tmp)
	defer os.Remove(tmp)
	s, err := store.Open(tmp, store.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := PopulateLarge(s, subscribers, perSub); err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	if f, err := os.Open(tmp); err == nil {
		f.Sync()
		f.Close()
	}
	return os.Rename(tmp, path)
}

// PopulateLarge writes Large's content into s (empty, on any backend):
// the default route, provider LargeProvider and its subscribers with their
// Blocked and VIP rows, and the provider-wide Blocked list, with the bulk
// loader. bench/cluster loads the same data set into bbolt and into etcd
// with it.
func PopulateLarge(s *store.Store, subscribers, perSub int) error {
	if _, err := s.SetRoute(store.Operator, store.RouteSpec{Name: Route, RoutingNumber: RoutingNumber, SIPURI: RouteURI}); err != nil {
		return err
	}
	if err := s.SetDefaultRoute(store.Operator, Route); err != nil {
		return err
	}
	if _, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: LargeProvider}); err != nil {
		return err
	}
	if err := s.AllocateNumbers(store.Operator, LargeProvider, store.Range{First: LargeSubscriberNumber(0), Last: LargeSubscriberNumber(subscribers - 1)}); err != nil {
		return err
	}
	return s.BulkLoad(func(l *store.BulkLoader) error {
		blocked := make([]e164.Number, perSub)
		for i := range subscribers {
			name := fmt.Sprintf("sub%07d", i)
			if _, err := l.CreateSubscriber(store.SubscriberSpec{Name: name, Provider: LargeProvider,
				Numbers: []string{LargeSubscriberNumber(i).String()}}); err != nil {
				return err
			}
			for j := range blocked {
				blocked[j] = LargeBlocked(i, j)
			}
			if err := l.AddEntries(name, store.ListBlocked, blocked, ""); err != nil {
				return err
			}
			if err := l.AddEntries(name, store.ListVIP, []e164.Number{LargeVIP(i, perSub)}, ""); err != nil {
				return err
			}
		}
		pb := make([]e164.Number, LargeProviderBlockedRows)
		for k := range pb {
			pb[k] = LargeProviderBlocked(k)
		}
		return l.AddEntries(store.ProviderPrefix+LargeProvider, store.ListBlocked, pb, "")
	})
}
