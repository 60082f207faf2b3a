// The live page: the server says (server-sent events) when work this user may see has changed, and the
// dashboard's figures are fetched again, at most once a second. Without JavaScript the page still works.
(function () {
  var status = document.getElementById('live-status');
  var dashboard = document.getElementById('dashboard');
  if (!window.EventSource || !dashboard) return;
  var pending = false;
  var changes = 0;
  function refresh() {
    pending = false;
    fetch('/fragments/dashboard', { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (res) { if (!res.ok) throw new Error(String(res.status)); return res.text(); })
      .then(function (html) {
        dashboard.innerHTML = html;
        status.textContent = 'Updated at ' + new Date().toLocaleTimeString('en-GB') + ' (' + changes + ' changes since you opened the page).';
      })
      .catch(function () { status.textContent = 'The figures could not be refreshed; reload the page.'; });
  }
  var source = new EventSource('/api/stream');
  source.addEventListener('changed', function (e) {
    try { changes += JSON.parse(e.data).count || 0; } catch (err) { /* a malformed event changes nothing */ }
    if (!pending) { pending = true; setTimeout(refresh, 1000); }
  });
  source.addEventListener('error', function () { status.textContent = 'Reconnecting to live updates...'; });
})();
