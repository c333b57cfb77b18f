// Staff dashboard: draws the figures the page carries (json_script) with the project's own copy of Chart.js.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  const L = JSON.parse(document.getElementById("dashboard-labels").textContent);
  const reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const ink = getComputedStyle(document.documentElement).getPropertyValue("--ink").trim() || "#1d2433";
  Chart.defaults.color = ink;
  Chart.defaults.animation = reduced ? false : Chart.defaults.animation;
  const palette = ["#3451c7", "#c2410c", "#15803d", "#9333ea", "#0e7490", "#b91c1c", "#a16207"];
  let drawn = 0;

  function draw(id, config) {
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options || {});
    new Chart(document.getElementById(id), config);
    drawn += 1;
  }

  function pivot(rows, key) {
    const days = Array.from(new Set(rows.map((r) => r.day))).sort();
    const groups = Array.from(new Set(rows.map((r) => r[key]))).sort();
    const datasets = groups.map((g, i) => ({
      label: g, backgroundColor: palette[i % palette.length],
      data: days.map((d) => rows.filter((r) => r.day === d && r[key] === g).reduce((s, r) => s + r.turns, 0)),
    }));
    return { labels: days, datasets };
  }

  const fb = data.feedback;
  draw("chart-feedback", {
    data: {
      labels: fb.map((r) => r.day),
      datasets: [
        { type: "bar", label: L.events, data: fb.map((r) => r.total), backgroundColor: palette[0], yAxisID: "y" },
        { type: "line", label: L.likeRate, data: fb.map((r) => r.like_rate), borderColor: palette[1], yAxisID: "rate" },
      ],
    },
    options: { scales: { y: { beginAtZero: true }, rate: { position: "right", min: 0, max: 1 } } },
  });
  const stacked = { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } };
  draw("chart-intents", { type: "bar", data: pivot(data.turns, "intent"), options: stacked });
  draw("chart-languages", { type: "bar", data: pivot(data.turns, "language"), options: stacked });
  const lists = data.lists;
  draw("chart-lists", {
    type: "doughnut",
    data: {
      labels: [L.empty, L.short, L.enough],
      datasets: [{ data: [lists.empty, lists.short, Math.max(lists.turns - lists.empty - lists.short, 0)],
        backgroundColor: [palette[5], palette[6], palette[2]] }],
    },
  });
  draw("chart-arms", {
    data: {
      labels: data.arms.map((a) => a.arm),
      datasets: [
        { type: "bar", label: L.pulls, data: data.arms.map((a) => a.pulls), backgroundColor: palette[0], yAxisID: "y" },
        { type: "line", label: L.reward, data: data.arms.map((a) => a.estimate), borderColor: palette[1], yAxisID: "rate" },
      ],
    },
    options: { scales: { y: { beginAtZero: true }, rate: { position: "right", min: 0, max: 1 } } },
  });
  const metricNames = Array.from(new Set(data.models.flatMap((m) => Object.keys(m.validation)))).sort();
  draw("chart-models", {
    type: "line",
    data: {
      labels: data.models.map((m) => `${m.name} (${m.created_at.slice(0, 10)})`),
      datasets: metricNames.map((name, i) => ({
        label: name, data: data.models.map((m) => (name in m.validation ? m.validation[name] : null)),
        borderColor: palette[i % palette.length],
      })),
    },
  });
  const cov = data.coverage;
  draw("chart-coverage", {
    type: "doughnut",
    data: {
      labels: [L.recommended, L.never],
      datasets: [{ data: [cov.recommended, Math.max(cov.catalog - cov.recommended, 0)], backgroundColor: [palette[2], "#9ca3af"] }],
    },
  });
  document.body.dataset.chartsDrawn = String(drawn);
})();
