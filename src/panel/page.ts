const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * The page's shell: landmarks, the live region and the confirmation dialog. The lanes are drawn
 * into it by /panel.js from the state the server sends (`/events`), and updated in place.
 */
export function pageShell(opts: { principal: string; credsFile?: string; token: string }): string {
  const who = esc(opts.principal);
  const creds = opts.credsFile ? ` (credentials ${esc(opts.credsFile)})` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="termshare-csrf" content="${esc(opts.token)}">
<title>termshare panel</title>
<link rel="stylesheet" href="/panel.css">
</head>
<body>
<header>
  <h1>termshare: shared terminals</h1>
  <p class="who">Acting as <strong>${who}</strong>${creds}: every action here is a request by ${who}, under the same policy as the CLI.</p>
</header>
<main id="main">
  <p id="service" class="service">Connecting to the panel…</p>
  <section aria-labelledby="lanes-title">
    <h2 id="lanes-title">Lanes</h2>
    <div id="lanes"></div>
  </section>
</main>
<footer><p>Served by <code>termshare panel</code> on loopback; nothing is loaded from elsewhere. Links are shown only when you ask.</p></footer>
<div id="announce" role="status" aria-live="polite" class="visually-hidden"></div>
<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
  <form method="dialog">
    <h2 id="confirm-title">Confirm</h2>
    <p id="confirm-text"></p>
    <div id="confirm-field" hidden>
      <label id="confirm-label" for="confirm-input">Value</label>
      <input id="confirm-input" name="value" autocomplete="off">
    </div>
    <div class="buttons">
      <button value="cancel" type="submit" formnovalidate>Cancel</button>
      <button value="confirm" type="submit" id="confirm-go">Confirm</button>
    </div>
  </form>
</dialog>
<script src="/panel.js" defer></script>
</body></html>`;
}
