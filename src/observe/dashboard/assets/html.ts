/** The dashboard page: a shell the script fills in; everything it loads is served by the registry. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tensile dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="app.css">
</head>
<body>
<header class="top">
  <h1>Tensile <span>fleet</span></h1>
  <dl class="totals" id="totals"></dl>
  <div class="live" id="live" data-state="connecting"><i></i><span>connecting</span></div>
</header>
<main>
  <section class="panel" id="services-panel">
    <h2>Services</h2>
    <div id="services"><p class="empty">No instances registered yet.</p></div>
  </section>
  <div class="columns">
    <section class="panel" id="scaling-panel">
      <h2>Autoscaling</h2>
      <div id="scaling"></div>
    </section>
    <section class="panel" id="events-panel">
      <h2>Recent events</h2>
      <ol class="events" id="events"></ol>
    </section>
  </div>
</main>
<script src="app.js" defer></script>
</body>
</html>
`;
