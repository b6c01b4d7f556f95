package admin

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocument: the checked-in document is valid OpenAPI 3, every
// example in it validates against its schema, every route the tier serves
// is in it, and it holds no operation the tier does not serve.
func TestOpenAPIDocument(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapiDoc)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	tier := &Tier{}
	served := map[string]bool{"GET /api/v1/openapi.json": true, "POST /api/v1/keys": true, "DELETE /api/v1/keys": true, "DELETE /api/v1/keys/{calling}/{called}": true}
	for _, r := range tier.routeTable() {
		served[r.method+" "+r.pattern] = true
		item := doc.Paths.Find(r.pattern)
		if item == nil || item.GetOperation(r.method) == nil {
			t.Errorf("%s %s is served but not in openapi.json", r.method, r.pattern)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served[strings.ToUpper(method)+" "+path] {
				t.Errorf("openapi.json has %s %s, which is not served", method, path)
			}
		}
	}
}

// TestOpenAPIExampleRejected: the example validation is real: a document
// whose example breaks its schema fails.
func TestOpenAPIExampleRejected(t *testing.T) {
	bad := strings.Replace(string(openapiDoc), `"pin": "2468"`, `"pin": "24x8"`, 1)
	if bad == string(openapiDoc) {
		t.Fatal("the PIN example is not in the document")
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(bad))
	if err == nil {
		err = doc.Validate(context.Background(), openapi3.EnableExamplesValidation())
	}
	if err == nil {
		t.Fatal("a PIN example of letters validated")
	}
}
