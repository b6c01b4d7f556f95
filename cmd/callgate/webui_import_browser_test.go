package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"callgate/internal/demo"
)

// TestWebSubscriberImportInABrowser: in a real headless browser on a phone
// screen, a provider imports subscribers from a CSV file. With JavaScript
// off, the plain form post shows every bad row and the final report. With
// it on, a file with bad rows lists each (line and reason) as the
// streamed answer finds it, says nothing was imported, and nothing is;
// the fixed file imports with the <progress> bar moving through the
// streamed progress to 100%, and the new subscribers are found by the
// subscribers page's search, whose count includes them.
func TestWebSubscriberImportInABrowser(t *testing.T) {
	w := startWebDaemon(t, "")
	b := w.browser()
	b.login("telco", "telco-password", `#q`)
	if count := b.text(`#count`); !strings.Contains(count, "3") {
		t.Fatalf("the subscribers page's count before: %q", count)
	}
	files := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	prov := demo.Provider
	badCSV := write("bad.csv", "name,provider,numbers\n"+
		"webb,"+prov+",+13035550151\n"+ // 2 good
		"webc,"+prov+",555-01\n"+ // 3 not a number
		"webd,"+prov+",+12125550100\n"+ // 4 not in the allocation
		demo.Alice+","+prov+",+13035550152\n") // 5 the name is taken
	goodCSV := write("good.csv", "name,provider,numbers\n"+
		"webb,"+prov+",+13035550151\n"+
		"webc,"+prov+",+13035550153 +13035550154\n"+
		"webd,"+prov+",+13035550155\n")
	imported := func() bool {
		return w.cli.run("subscriber", "show", "webb", "--config", w.r.cliCfg).code == 0
	}
	badRows := func(how string) {
		t.Helper()
		rows := b.text(`#bad-rows`)
		for _, want := range []string{"3", "555-01", "4", "allocation", "5", "exists"} {
			if !strings.Contains(rows, want) {
				t.Errorf("%s: the bad rows do not say %q:\n%s", how, want, rows)
			}
		}
		if strings.Contains(rows, "webb") || strings.Contains(rows, "\n2\t") {
			t.Errorf("%s: a good row is listed as bad:\n%s", how, rows)
		}
		if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#bad-rows tr').length`)); err != nil || n != 3 {
			t.Errorf("%s: %d bad rows listed (%v), want 3", how, n, err)
		}
		if msg := b.text(`#outcome`); !strings.Contains(msg, "3 of 4 rows are bad; nothing was imported") {
			t.Errorf("%s: the outcome says %q", how, msg)
		}
		if imported() {
			t.Fatalf("%s: a refused file imported subscribers", how)
		}
	}

	// JavaScript off: the form posts and the page comes back with the
	// report.
	scripts := func(off bool) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off})
			return err
		})
	}
	b.do(scripts(true),
		chromedp.Navigate(b.base+"/ui/subscribers/import"),
		chromedp.WaitVisible(chromedp.CSS(`#file`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{badCSV}))
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(`#import`))); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.WaitVisible(chromedp.CSS(`#outcome`)))
	badRows("without JavaScript")

	// JavaScript on: streamed, on the same page.
	b.do(scripts(false),
		chromedp.Navigate(b.base+"/ui/subscribers/import"),
		chromedp.WaitVisible(chromedp.CSS(`#file`)))
	b.accessible("the import page")
	// Every value the bar takes, as the page's script sets it.
	// A small file's lines arrive at once, so the observer hears of several
	// changes in one callback: each record's old value is the value before
	// it, and the last is the current one.
	watch := `window.barValues = [];
		new MutationObserver((records) => {
			for (const r of records.slice(1)) if (r.oldValue !== null) window.barValues.push(+r.oldValue);
			const v = document.getElementById('progress').getAttribute('value');
			if (v !== null) window.barValues.push(+v);
		}).observe(document.getElementById('progress'), {attributes: true, attributeFilter: ['value'], attributeOldValue: true});`
	b.eval(watch)
	b.do(chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{badCSV}),
		chromedp.Click(chromedp.CSS(`#import`)),
		chromedp.WaitVisible(chromedp.CSS(`#outcome.error`)))
	badRows("streamed")
	if loc, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname`)); err != nil || loc != "/ui/subscribers/import" {
		t.Errorf("the script did not keep the page: %q %v", loc, err)
	}
	b.accessible("the import page with bad rows")

	// The fixed file, from the keyboard: focus the button and press Enter.
	b.eval(`window.barValues = []`)
	b.do(chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{goodCSV}),
		chromedp.Focus(chromedp.CSS(`#import`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#outcome.flash`)))
	if msg := b.text(`#outcome`); !strings.Contains(msg, "Imported 3 subscriber(s) with 4 number(s). You now have 6 subscriber(s).") {
		t.Fatalf("the outcome says %q", msg)
	}
	values, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](`window.barValues`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the progress bar took %v", values)
	between := false
	for _, v := range values {
		between = between || v > 0 && v < 100
	}
	if len(values) < 3 || values[len(values)-1] != 100 || !between {
		t.Errorf("the progress bar took %v: want streamed steps ending at 100", values)
	}
	if status := b.text(`#phase`); !strings.Contains(status, "100%") {
		t.Errorf("the progress status says %q", status)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#bad-rows tr').length`)); err != nil || n != 0 {
		t.Errorf("bad rows left from the refused file: %d %v", n, err)
	}
	if !imported() {
		t.Fatal("the good file imported nothing")
	}

	// The subscribers page finds them, by name and by number.
	b.do(chromedp.Navigate(b.base+"/ui/subscribers"),
		chromedp.WaitVisible(chromedp.CSS(`#q`)))
	if count := b.text(`#count`); !strings.Contains(count, "6") {
		t.Errorf("the count after the import: %q", count)
	}
	for q, want := range map[string]string{"WEB": "+13035550155", "555-0154": "webc"} {
		b.eval(`document.getElementById('q').value = ''`)
		b.do(chromedp.SendKeys(chromedp.CSS(`#q`), q))
		// Until the results have loaded, not the page searched from.
		if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(`#search`))); err != nil {
			t.Fatal(err)
		}
		b.do(chromedp.WaitVisible(chromedp.CSS(`#shown`)))
		table := b.text(`table`)
		if !strings.Contains(table, want) || q == "WEB" && (!strings.Contains(table, "webb") || !strings.Contains(table, "webd")) ||
			strings.Contains(table, demo.Alice) {
			t.Errorf("search %q: %s", q, table)
		}
	}
	b.accessible("the subscribers page")
}
