// callgate web UI: the subscriber import's live progress and bad rows.
//
// Progressive enhancement: without this script (or without fetch and
// streams) the form posts as multipart/form-data and the page comes back
// with the final report. With it, the file is posted as the body with the
// session's CSRF token in a header, and the answer is read as it streams
// (JSON lines, admin/subimport.go): "progress" moves the <progress> bar,
// each "row_error" adds a row to the table as it is found, and "report" or
// "problem" ends it.
(function () {
  'use strict';
  var form = document.getElementById('subimport');
  if (!form || !window.fetch || !window.ReadableStream || !window.TextDecoder) {
    return;
  }
  var file = document.getElementById('file');
  var dry = document.getElementById('dry_run');
  var button = document.getElementById('import');
  var box = document.getElementById('progress-box');
  var bar = document.getElementById('progress');
  var phase = document.getElementById('phase');
  var bad = document.getElementById('bad');
  var badRows = document.getElementById('bad-rows');
  var badCount = document.getElementById('bad-count');
  var outcomeBox = document.getElementById('outcome-box');
  var token = form.querySelector('input[name=csrf]').value;

  // The bar covers the whole import: reading and checking the file is the
  // first half, writing the subscribers the second (a check only reads).
  var spans = {reading: [0, 50], writing: [50, 99], committing: [99, 100]};
  var words = {reading: 'Reading and checking the file', writing: 'Writing the subscribers', committing: 'Committing'};
  var badSeen = 0;
  var said = '';

  function say(text) {
    // The status is read out when it changes: at each phase and every 10%.
    if (text !== said) {
      said = text;
      phase.textContent = text;
    }
  }

  function setBar(pct) {
    bar.value = pct;
    bar.textContent = pct + '%';
  }

  function progress(p, checkOnly) {
    var span = spans[p.phase] || [0, 100];
    if (checkOnly && p.phase === 'reading') {
      span = [0, 100];
    }
    var frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    var pct = Math.floor(span[0] + (span[1] - span[0]) * frac);
    setBar(pct);
    say((words[p.phase] || p.phase) + ': ' + Math.floor(pct / 10) * 10 + '%');
  }

  function addRow(line, error) {
    var tr = document.createElement('tr');
    var td1 = document.createElement('td');
    var td2 = document.createElement('td');
    td1.textContent = line;
    td2.textContent = error;
    tr.appendChild(td1);
    tr.appendChild(td2);
    badRows.appendChild(tr);
    badSeen++;
    bad.hidden = false;
    badCount.textContent = badSeen + ' bad row(s) so far: nothing will be imported.';
  }

  // finish shows how the import ended and gives the form back.
  function finish(ok, text) {
    var p = document.createElement('p');
    p.id = 'outcome';
    p.tabIndex = -1;
    p.className = ok ? 'flash' : 'error';
    p.setAttribute('role', ok ? 'status' : 'alert');
    p.textContent = text;
    outcomeBox.replaceChildren(p);
    button.disabled = false;
    p.focus();
  }

  function ended(ev, checkOnly) {
    if (ev.report) {
      var r = ev.report;
      setBar(100);
      say('Done: 100%');
      if (r.dry_run) {
        finish(true, 'The file is good: ' + r.valid + ' subscriber(s) with ' + r.numbers +
          ' number(s) would be imported. Nothing was imported (check only).');
      } else {
        finish(true, 'Imported ' + r.written + ' subscriber(s) with ' + r.numbers + ' number(s). ' +
          form.dataset.now + ' ' + r.subscribers + ' subscriber(s).');
      }
      return true;
    }
    if (ev.problem) {
      var pr = ev.problem;
      if (badSeen === 0 && pr.errors) {
        pr.errors.forEach(function (e) { addRow(e.line, e.error); });
      }
      say('Stopped: nothing was imported.');
      if (pr.errors && pr.errors.length) {
        badCount.textContent = badSeen + ' bad row(s) listed.';
        finish(false, pr.detail + '. Fix the rows listed below and import the whole file again.');
      } else {
        finish(false, 'The import failed, so nothing was imported: ' + (pr.detail || pr.title) + '.');
      }
      return true;
    }
    if (ev.progress) {
      progress(ev.progress, checkOnly);
    } else if (ev.row_error) {
      addRow(ev.row_error.line, ev.row_error.error);
    }
    return false;
  }

  async function run(f, checkOnly) {
    badSeen = 0;
    badRows.replaceChildren();
    badCount.textContent = '';
    bad.hidden = true;
    outcomeBox.replaceChildren();
    button.disabled = true;
    box.hidden = false;
    bar.removeAttribute('value'); // indeterminate while the file is sent
    say('Sending ' + f.name + '…');
    var res;
    try {
      res = await fetch(form.action + (checkOnly ? '?dry_run=true' : ''), {
        method: 'POST', body: f, credentials: 'same-origin',
        headers: {'Content-Type': 'text/csv', 'Accept': 'application/x-ndjson', 'X-CSRF-Token': token}
      });
    } catch (e) {
      say('');
      finish(false, 'The file could not be sent (' + e.message + '), so nothing was imported. Try again.');
      return;
    }
    var type = res.headers.get('Content-Type') || '';
    if (!res.ok || type.indexOf('application/x-ndjson') !== 0) {
      say('');
      finish(false, res.status === 401 ?
        'Your session has ended, so nothing was imported: reload the page, log in and import again.' :
        'The import was refused (' + res.status + ' ' + res.statusText + '), so nothing was imported. Reload the page and try again.');
      return;
    }
    var reader = res.body.getReader();
    var dec = new TextDecoder();
    var buf = '';
    var done = false;
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) {
          break;
        }
        buf += dec.decode(chunk.value, {stream: true});
        var i;
        while ((i = buf.indexOf('\n')) >= 0) {
          var line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim() !== '') {
            done = ended(JSON.parse(line), checkOnly) || done;
          }
        }
      }
    } catch (e) {
      // Cut off below: reported next.
    }
    if (!done) {
      finish(false, 'The answer was cut off before the import ended. It is all or nothing: look for the subscribers on the subscribers page before importing the file again.');
    }
  }

  form.addEventListener('submit', function (ev) {
    if (!file.files.length) {
      return; // the browser asks for a file (required)
    }
    ev.preventDefault();
    run(file.files[0], dry.checked);
  });
})();
