package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"callgate/store"
	"callgate/store/storetest"
)

// TestAuditKeyRevocation: a revocation of call keys (which live outside
// the store) leaves one record, the only write of its transaction: by the
// operator or the enterprise's provider (another provider is refused and
// leaves none), or by the enterprise itself with its token (role
// enterprise, whatever actor is passed); one pair's revocation names it.
func TestAuditKeyRevocation(t *testing.T) {
	s := storetest.Open(t)
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ent := storetest.Enterprise
	rev := s.Revision()
	if err := s.AuditKeyRevocation(ctx, store.ProviderActor(storetest.OtherProvider).By("token x", "api"), ent, store.KeyRevocation{Revoked: 3}); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("another provider: %v, want ErrForbidden", err)
	}
	if err := s.AuditKeyRevocation(ctx, store.Operator, "nobody", store.KeyRevocation{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an unknown enterprise: %v, want ErrNotFound", err)
	}
	if s.Revision() != rev {
		t.Fatalf("a refused record was written (revision %d -> %d)", rev, s.Revision())
	}
	if err := s.AuditKeyRevocation(ctx, store.ProviderActor(storetest.Provider).By("user pat", "web"), ent,
		store.KeyRevocation{Revoked: 3, Reason: "token reissued", Error: "1 of 3 revocations did not reach the other nodes"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AuditKeyRevocation(ctx, store.Operator.By("cli:root", "cli"), ent,
		store.KeyRevocation{Calling: "+12025550150", Called: "+13035550100", Revoked: 1, ByEnterprise: true}); err != nil {
		t.Fatal(err)
	}
	recs := mustAudit(t, s, store.ProviderActor(storetest.Provider), store.AuditQuery{Object: "enterprise/" + ent + "/keys"})
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2: %+v", len(recs), recs)
	}
	byEnt, byProv := recs[0], recs[1]
	if byEnt.Op != "keys.revoke" || byEnt.Role != "enterprise" || byEnt.Actor != "enterprise "+ent || byEnt.Principal != ent+"'s API token" ||
		byEnt.Via != "api" || byEnt.Object != "enterprise/"+ent+"/keys/+12025550150/+13035550100" ||
		string(byEnt.After) != `{"calling":"+12025550150","called":"+13035550100","revoked":1}` || byEnt.Before != nil {
		t.Errorf("the enterprise's own revocation: %+v %s", byEnt, byEnt.After)
	}
	if byProv.Op != "keys.revoke" || byProv.Role != "provider" || byProv.Principal != "user pat" || byProv.Via != "web" ||
		byProv.Object != "enterprise/"+ent+"/keys" || byProv.Provider != storetest.Provider ||
		!strings.Contains(string(byProv.After), `"revoked":3,"reason":"token reissued","error":"1 of 3`) {
		t.Errorf("the provider's revocation: %+v %s", byProv, byProv.After)
	}
	if recs := mustAudit(t, s, store.ProviderActor(storetest.OtherProvider), store.AuditQuery{Object: "/keys"}); len(recs) != 0 {
		t.Errorf("another provider reads %d revocation records", len(recs))
	}
}
