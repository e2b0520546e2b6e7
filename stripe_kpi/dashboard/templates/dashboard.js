(function () {
  "use strict";
  // Every string from Stripe (names, emails, ids, feedback) reaches the page through
  // textContent or Plotly's own escaping, never innerHTML.
  var D = JSON.parse(document.getElementById("dashboard-data").textContent);
  var MINUS = "\u2212";
  var COLORS = {
    new: "#2e9e6a", expansion: "#7fc8a0", reactivation: "#2a8fbd",
    contraction: "#f0a44b", churn: "#d8503f", net: "#30313d", fx: "#9aa1ac",
    voluntary: "#f0a44b", involuntary: "#d8503f", mrr: "#635bff", arpu: "#e0730b",
  };
  var MOVES = ["new", "expansion", "reactivation", "contraction", "churn"];
  var drawn = {};

  // The report's convention (report/formatting.py): symbol in front, English grouping, the
  // currency's minor digits, a real minus sign.
  function money(v) {
    if (v === null || v === undefined) return "n/a";
    var fixed = Math.abs(v).toFixed(D.exponent).split(".");
    var whole = fixed[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (v < 0 ? MINUS : "") + D.prefix + whole + (fixed.length > 1 ? "." + fixed[1] : "");
  }
  // An axis label: whole units, as report/formatting.py's format_compact_money ("−$500").
  function compact(v) {
    var whole = Math.round(Math.abs(v));
    return (v < 0 && whole ? MINUS : "") + D.prefix + count(whole);
  }
  // Plotly prints a tick prefix before the minus sign ("$−500"); an axis that goes below zero
  // gets its ticks from here instead, written as the report writes money.
  function moneyAxis(values) {
    var lo = Math.min.apply(null, values.concat([0])), hi = Math.max.apply(null, values.concat([0]));
    var raw = (hi - lo) / 5 || 1, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).filter(function (s) { return s >= raw; })[0];
    var ticks = [];
    for (var t = Math.floor(lo / step) * step; t <= hi + step / 2; t += step) ticks.push(Math.round(t * 1e6) / 1e6);
    return { tickmode: "array", tickvals: ticks, ticktext: ticks.map(compact), tickprefix: "" };
  }
  // Counts have whole ticks (a month has 1 churned customer, never 0.2).
  function countAxis(values) {
    var top = Math.max.apply(null, values.concat([1]));
    return top <= 8 ? { tickprefix: "", dtick: 1, tickformat: "d" } : { tickprefix: "", tickformat: ",d" };
  }
  function signed(v) { return v > 0 ? "+" + money(v) : money(v); }
  function count(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  // Plotly reads a few tags in its labels (<b>, <a href>…): a name from Stripe (a plan's
  // nickname) is given to it with those characters escaped, so it is drawn as it is written.
  function plotlyText(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function monthDay(month) { return month + "-01"; }

  var CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  function layout(extra) {
    var base = {
      margin: { l: 64, r: 24, t: 8, b: 36 },
      hovermode: "x unified",
      separators: ".,",
      font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size: 12, color: "#30313d" },
      paper_bgcolor: "#fff", plot_bgcolor: "#fff",
      legend: { orientation: "h", x: 0, y: 1.12 },
      xaxis: { type: "date", gridcolor: "#eef0f3" },
      yaxis: { gridcolor: "#eef0f3", zerolinecolor: "#c4c9d0", separatethousands: true, tickprefix: D.prefix, automargin: true },
    };
    for (var key in extra) {
      if (typeof extra[key] === "object" && base[key] && !Array.isArray(extra[key])) {
        base[key] = Object.assign({}, base[key], extra[key]);
      } else {
        base[key] = extra[key];
      }
    }
    return base;
  }
  function plot(id, traces, extra) {
    Plotly.newPlot(document.getElementById(id), traces, layout(extra || {}), CONFIG);
  }
  function unavailable(container, text) {
    container.textContent = "";
    container.appendChild(el("div", text, "unavailable"));
  }
  function table(id, head, rows, opts) {
    var t = document.getElementById(id);
    t.textContent = "";
    var thead = el("thead"), tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", h.label, h.cls)); });
    thead.appendChild(tr);
    t.appendChild(thead);
    var body = el("tbody");
    rows.forEach(function (row) {
      var r = el("tr");
      row.cells.forEach(function (cell, i) { r.appendChild(el("td", cell, head[i].cls)); });
      if (row.onclick) { r.className = "clickable"; r.addEventListener("click", row.onclick); }
      if (row.id) r.dataset.id = row.id;
      body.appendChild(r);
    });
    t.appendChild(body);
  }

  // ---- overview -------------------------------------------------------------------------
  function drawOverview() {
    var days = D.days;
    var arr = days.mrr.map(function (v) { return Math.round(v * 12 * Math.pow(10, D.exponent)) / Math.pow(10, D.exponent); });
    var top = Math.max.apply(null, days.mrr.concat([0])) * 1.08 || 1;
    plot("chart-mrr", [
      { x: days.date, y: days.mrr, name: "MRR", type: "scatter", mode: "lines", fill: "tozeroy",
        line: { color: COLORS.mrr, width: 2 }, fillcolor: "rgba(99,91,255,0.10)",
        customdata: days.mrr.map(function (v, i) { return [money(v), money(arr[i])]; }),
        hovertemplate: "MRR %{customdata[0]}<br>ARR %{customdata[1]}<extra></extra>" },
      // ARR on the right-hand axis: the same line at 12×, drawn invisibly so the axis has ticks.
      { x: days.date, y: arr, name: "ARR", yaxis: "y2", type: "scatter", mode: "lines",
        line: { color: "rgba(0,0,0,0)" }, hoverinfo: "skip", showlegend: false },
    ], {
      yaxis: { range: [0, top], title: { text: "MRR" } },
      yaxis2: { overlaying: "y", side: "right", range: [0, top * 12], tickprefix: D.prefix, separatethousands: true, showgrid: false, title: { text: "ARR" }, automargin: true },
      xaxis: { rangeslider: { visible: true, thickness: 0.08 },
               rangeselector: { buttons: [
                 { count: 3, label: "3m", step: "month", stepmode: "backward" },
                 { count: 6, label: "6m", step: "month", stepmode: "backward" },
                 { count: 1, label: "1y", step: "year", stepmode: "backward" },
                 { step: "all", label: "all" }] } },
      margin: { l: 64, r: 64, t: 30, b: 20 }, showlegend: false,
    });
    plot("chart-customers", [
      { x: days.date, y: days.customers, name: "Paying customers", type: "scatter", mode: "lines",
        line: { color: "#2a8fbd", width: 2 }, hovertemplate: "%{y:,} paying customers<extra></extra>" },
      { x: days.date, y: days.arpu, name: "ARPU", yaxis: "y2", type: "scatter", mode: "lines",
        line: { color: COLORS.arpu, width: 2 },
        customdata: days.arpu.map(money), hovertemplate: "ARPU %{customdata}<extra></extra>" },
    ], {
      yaxis: { tickprefix: "", rangemode: "tozero", title: { text: "customers" } },
      yaxis2: { overlaying: "y", side: "right", tickprefix: D.prefix, rangemode: "tozero", showgrid: false, title: { text: "ARPU" }, automargin: true },
      margin: { l: 64, r: 64, t: 30, b: 36 },
    });
  }

  // ---- movements ------------------------------------------------------------------------
  function drawMovements() {
    var months = D.months, x = months.map(function (m) { return monthDay(m.month); });
    var traces = MOVES.map(function (kind) {
      return { x: x, y: months.map(function (m) { return m[kind]; }), name: kind, type: "bar",
               marker: { color: COLORS[kind] },
               customdata: months.map(function (m) { return signed(m[kind]); }),
               hovertemplate: kind + " %{customdata}<extra></extra>" };
    });
    traces.push({ x: x, y: months.map(function (m) { return m.net; }), name: "net new MRR",
                  type: "scatter", mode: "lines+markers", line: { color: COLORS.net, width: 2 },
                  customdata: months.map(function (m) { return signed(m.net); }),
                  hovertemplate: "net new %{customdata}<extra></extra>" });
    var ups = months.map(function (m) { return m.new + m.expansion + m.reactivation; });
    var downs = months.map(function (m) { return m.contraction + m.churn; });
    plot("chart-movements", traces, { barmode: "relative", xaxis: { tickformat: "%b %Y" },
                                      yaxis: moneyAxis(ups.concat(downs)) });
    var head = [{ label: "month", cls: "nowrap" }].concat(MOVES.concat(["net", "fx"]).map(function (k) {
      return { label: k, cls: "num" };
    })).concat([{ label: "MRR at month end", cls: "num" }]);
    var rows = months.slice().reverse().map(function (m) {
      return { cells: [m.month].concat(MOVES.concat(["net", "fx"]).map(function (k) { return signed(m[k]); })).concat([money(m.mrr)]) };
    });
    table("table-months", head, rows);
  }

  // ---- churn ----------------------------------------------------------------------------
  function drawChurn() {
    var months = D.months, x = months.map(function (m) { return monthDay(m.month); });
    plot("chart-churn", ["voluntary", "involuntary"].map(function (r) {
      return { x: x, y: months.map(function (m) { return m["churned_" + r]; }), name: r, type: "bar",
               marker: { color: COLORS[r] }, hovertemplate: r + " %{y:,}<extra></extra>" };
    }), { barmode: "stack", xaxis: { tickformat: "%b %Y" }, yaxis: countAxis(months.map(function (m) {
      return m.churned_voluntary + m.churned_involuntary; })) });
    plot("chart-churn-mrr", ["voluntary", "involuntary"].map(function (r) {
      return { x: x, y: months.map(function (m) { return m["churned_mrr_" + r]; }), name: r, type: "bar",
               marker: { color: COLORS[r] },
               customdata: months.map(function (m) { return money(m["churned_mrr_" + r]); }),
               hovertemplate: r + " %{customdata}<extra></extra>" };
    }), { barmode: "stack", xaxis: { tickformat: "%b %Y" } });
    var totals = {};
    D.feedback.forEach(function (f) {
      totals[f.feedback] = totals[f.feedback] || { voluntary: 0, involuntary: 0 };
      totals[f.feedback][f.reason] += f.count;
    });
    var names = Object.keys(totals).sort(function (a, b) {
      var ta = totals[a].voluntary + totals[a].involuntary, tb = totals[b].voluntary + totals[b].involuntary;
      return ta - tb || (a < b ? 1 : -1);
    });
    var holder = document.getElementById("chart-feedback");
    if (!names.length) { unavailable(holder.parentNode, "No customer churned in this period."); return; }
    plot("chart-feedback", ["voluntary", "involuntary"].map(function (r) {
      return { y: names, x: names.map(function (n) { return totals[n][r]; }), name: r, type: "bar",
               orientation: "h", marker: { color: COLORS[r] }, hovertemplate: "%{y}: %{x:,} " + r + "<extra></extra>" };
    }), { barmode: "stack", hovermode: "y unified", xaxis: Object.assign({ type: "linear" }, countAxis(names.map(function (n) {
          return totals[n].voluntary + totals[n].involuntary; }))),
          yaxis: { tickprefix: "", type: "category" }, margin: { l: 130, r: 24, t: 8, b: 36 } });
  }

  // ---- cohorts and segments (stored tables of their own features) -----------------------
  function percent(share) { return share === null || share === undefined ? "n/a" : (share * 100).toFixed(1) + "%"; }
  function drawCohorts() {
    var body = document.getElementById("cohorts-body");
    var c = D.cohorts;
    if (!c) { unavailable(body, "Cohorts are not available yet: this database has no stored cohort table (it comes with stripe-kpi cohorts)."); return; }
    if (!c.customers.cohorts.length) { unavailable(body, "No cohort yet: no customer has paid in this period."); return; }
    body.textContent = "";
    var kinds = el("div", null, "segment-kinds"), panel = el("div", null, "panel"), chart = el("div", null, "chart");
    chart.id = "chart-cohorts"; panel.appendChild(chart);
    var wrap = el("div", null, "table-wrap panel"), grid = el("table"); grid.id = "table-cohorts"; wrap.appendChild(grid);
    body.appendChild(kinds); body.appendChild(panel);
    body.appendChild(el("p", "Customers grouped by the month of their first payment; each cell is what the cohort keeps that many months later (customers still paying, or MRR kept net of expansion and contraction, against its first month). The month in progress is counted at " + c.customers.as_of + ".", "note"));
    body.appendChild(wrap);
    function show(metric) {
      Array.prototype.forEach.call(kinds.children, function (b) { b.className = b.dataset.kind === metric ? "active" : ""; });
      var doc = c[metric], rows = doc.cohorts, width = 0;
      rows.forEach(function (r) { width = Math.max(width, r.months.length); });
      var offsets = []; for (var i = 0; i < width; i++) offsets.push(i);
      var names = rows.map(function (r) { return r.cohort; });
      chart.style.height = Math.max(300, 26 * names.length + 80) + "px";
      var cell = function (m) { return metric === "mrr" ? money(m.mrr) : count(m.customers); };
      var z = rows.map(function (r) { return offsets.map(function (i) { var m = r.months[i]; return m && m.retention !== null ? m.retention : null; }); });
      // The share in each cell when there is room for it (a phone shows colours only).
      var roomy = chart.clientWidth > 34 * width + 80;
      var text = rows.map(function (r) { return offsets.map(function (i) { var m = r.months[i]; return m && m.retention !== null ? Math.round(m.retention * 100) + "%" : ""; }); });
      var hover = rows.map(function (r) { return offsets.map(function (i) { var m = r.months[i]; return m ? cell(m) + " · " + percent(m.retention) + (m.partial ? " (month in progress)" : "") : ""; }); });
      plot("chart-cohorts", [{ type: "heatmap", x: offsets, y: names, z: z, text: text, customdata: hover,
        zmin: 0, zmax: metric === "mrr" ? Math.max(1, Math.max.apply(null, [].concat.apply([], z).filter(function (v) { return v !== null; }))) : 1,
        colorscale: [[0, "#f4f3ff"], [1, "#3f38b8"]], hoverongaps: false, texttemplate: roomy ? "%{text}" : "", textfont: { size: 10 },
        hovertemplate: "cohort %{y}, month %{x}: %{customdata}<extra></extra>", showscale: false }],
        { hovermode: "closest",
          xaxis: { type: "category", title: { text: "months since first payment" }, side: "top" },
          yaxis: { type: "category", tickprefix: "", autorange: "reversed" }, margin: { l: 70, r: 10, t: 50, b: 10 } });
      var head = [{ label: "cohort", cls: "nowrap" }, { label: "customers", cls: "num" }, { label: "starting MRR", cls: "num" }]
        .concat(offsets.map(function (i) { return { label: String(i), cls: "num" }; }));
      table("table-cohorts", head, rows.map(function (r) {
        return { id: r.cohort, cells: [r.cohort, count(r.customers), money(r.starting_mrr)].concat(offsets.map(function (i) {
          return r.months[i] ? cell(r.months[i]) : ""; })) };
      }));
    }
    [["customers", "customers"], ["mrr", "MRR"]].forEach(function (k) {
      var b = el("button", k[1]); b.dataset.kind = k[0]; b.type = "button";
      b.addEventListener("click", function () { show(k[0]); });
      kinds.appendChild(b);
    });
    show("customers");
  }
  function drawSegments() {
    var body = document.getElementById("segments-body");
    var s = D.segments;
    if (!s) { unavailable(body, "MRR by segment is not available yet: this database has no stored segment table (it comes with stripe-kpi metrics --segment)."); return; }
    body.textContent = "";
    var kinds = el("div", null, "segment-kinds"), panel = el("div", null, "panel"), chart = el("div", null, "chart");
    chart.id = "chart-segments"; panel.appendChild(chart);
    body.appendChild(kinds); body.appendChild(panel);
    function show(kind) {
      Array.prototype.forEach.call(kinds.children, function (b) { b.className = b.dataset.kind === kind ? "active" : ""; });
      var series = s.kinds[kind];
      plot("chart-segments", series.map(function (seg) {
        return { x: s.dates, y: seg.mrr, name: plotlyText(seg.name), type: "scatter", mode: "lines", stackgroup: "one",
                 customdata: seg.mrr.map(money), hovertemplate: "%{fullData.name} %{customdata}<extra></extra>" };
      }), { legend: { orientation: "h", x: 0, y: -0.15 }, margin: { l: 64, r: 24, t: 8, b: 60 } });
    }
    body.appendChild(el("p", "MRR on each day by the price's plan (its nickname, else its id), the customer's country, and the billing currency; the largest " + s.top + " segments of each, the rest as other. A day's segments add up to its MRR.", "note"));
    Object.keys(s.kinds).forEach(function (kind) {
      var b = el("button", kind); b.dataset.kind = kind; b.type = "button";
      b.addEventListener("click", function () { show(kind); });
      kinds.appendChild(b);
    });
    show(Object.keys(s.kinds)[0]);
  }

  // ---- MRR at risk ----------------------------------------------------------------------
  var REASONS = { past_due: "past due", cancel_scheduled: "set to cancel", collection_paused: "collection paused" };
  function drawRisk() {
    var risk = D.at_risk;
    plot("chart-risk", [{ x: D.days.date, y: D.days.mrr_at_risk, name: "MRR at risk", type: "scatter",
      mode: "lines", fill: "tozeroy", line: { color: COLORS.churn, width: 2 }, fillcolor: "rgba(216,80,63,0.12)",
      customdata: D.days.mrr_at_risk.map(money), hovertemplate: "MRR at risk %{customdata}<extra></extra>" }],
      { showlegend: false });
    var note = risk.customers + " customers with MRR at risk on " + D.to + ".";
    if (risk.shown < risk.customers) note += " The " + risk.shown + " with the most are listed.";
    document.getElementById("risk-note").textContent = note;
    table("table-risk", [{ label: "customer" }, { label: "email", cls: "hide-narrow" },
                         { label: "MRR at risk", cls: "num" }, { label: "subscription and reason" }],
      risk.rows.map(function (r) {
        return { id: r.id, cells: [r.name || r.id, r.email || "", money(r.mrr), r.subscriptions.map(function (s) {
          return s.id + ": " + (REASONS[s.reason] || s.reason) + (s.cancels_on ? " on " + s.cancels_on : "");
        }).join("; ")], onclick: function () { location.hash = "customers"; openCustomer(r.id); } };
      }));
  }

  // ---- customers ------------------------------------------------------------------------
  var shownCustomers = D.customers.list;
  function customerRows(list) {
    table("table-customers", [{ label: "customer" }, { label: "email", cls: "hide-narrow" }, { label: "MRR", cls: "num" }],
      list.map(function (c) {
        return { id: c.id, cells: [c.name || c.id, c.email || "", money(c.mrr)], onclick: function () { openCustomer(c.id); } };
      }));
  }
  function drawCustomers() {
    var note = D.live
      ? "Every customer: type to search all of them."
      : "The " + D.customers.list.length + " customers with the most MRR on " + D.to +
        " (this file holds the histories of the top " + D.customers.limit + "; stripe-kpi serve has every customer).";
    document.getElementById("customers-note").textContent = note;
    customerRows(shownCustomers);
    var input = document.getElementById("customer-search"), pending = null;
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      if (D.live) {
        clearTimeout(pending);
        pending = setTimeout(function () {
          fetch("api/customers?q=" + encodeURIComponent(q), { credentials: "same-origin" })
            .then(function (r) { return r.json(); }).then(function (list) { customerRows(list); });
        }, 150);
        return;
      }
      customerRows(D.customers.list.filter(function (c) {
        return !q || (c.name || "").toLowerCase().indexOf(q) >= 0 || (c.email || "").toLowerCase().indexOf(q) >= 0 || c.id.toLowerCase().indexOf(q) >= 0;
      }));
    });
  }
  function showCustomer(c, history) {
    var box = document.getElementById("customer-detail");
    box.hidden = false;
    document.getElementById("customer-name").textContent = c.name || c.id;
    document.getElementById("customer-who").textContent = [c.email, c.id, "MRR " + money(c.mrr)].filter(Boolean).join(" · ");
    Array.prototype.forEach.call(document.querySelectorAll("#table-customers tr"), function (r) {
      r.classList.toggle("selected", r.dataset.id === c.id);
    });
    var x = history.mrr.map(function (p) { return p[0]; }), y = history.mrr.map(function (p) { return p[1]; });
    if (x.length) { x.push(D.to); y.push(y[y.length - 1]); }
    plot("chart-customer", [{ x: x, y: y, type: "scatter", mode: "lines", line: { shape: "hv", color: COLORS.mrr, width: 2 },
      fill: "tozeroy", fillcolor: "rgba(99,91,255,0.10)", customdata: y.map(money), name: "MRR",
      hovertemplate: "MRR %{customdata}<extra></extra>" }], { showlegend: false, yaxis: { rangemode: "tozero" } });
    table("table-customer-movements", [{ label: "day", cls: "nowrap" }, { label: "movement" }, { label: "amount", cls: "num" },
      { label: "MRR before", cls: "num hide-narrow" }, { label: "MRR after", cls: "num" }, { label: "churn", cls: "hide-narrow" }],
      history.movements.slice().reverse().map(function (m) {
        return { cells: [m[0], m[1], signed(m[2]), money(m[3]), money(m[4]), m[5] || ""] };
      }));
    box.scrollIntoView({ block: "nearest" });
  }
  function openCustomer(id) {
    var known = D.customers.histories[id];
    var c = D.customers.list.filter(function (p) { return p.id === id; })[0];
    if (known && c) { showCustomer(c, known); return; }
    if (D.live) {
      fetch("api/customer?id=" + encodeURIComponent(id), { credentials: "same-origin" })
        .then(function (r) { return r.json(); }).then(function (found) { showCustomer(found, found.history); });
      return;
    }
    var box = document.getElementById("customer-detail");
    box.hidden = false;
    document.getElementById("customer-name").textContent = id;
    document.getElementById("customer-who").textContent = "This file holds the histories of the top " + D.customers.limit + " customers only: stripe-kpi serve shows every customer's.";
  }

  // ---- pages ----------------------------------------------------------------------------
  var PAGES = { overview: drawOverview, movements: drawMovements, churn: drawChurn, cohorts: drawCohorts,
                segments: drawSegments, risk: drawRisk, customers: drawCustomers };
  function show() {
    var name = (location.hash || "#overview").slice(1);
    if (!PAGES[name]) name = "overview";
    Array.prototype.forEach.call(document.querySelectorAll("section.page"), function (s) {
      s.classList.toggle("active", s.id === "page-" + name);
    });
    Array.prototype.forEach.call(document.querySelectorAll("#tabs a"), function (a) {
      a.classList.toggle("active", a.dataset.page === name);
    });
    if (!drawn[name]) { drawn[name] = true; PAGES[name](); }  // drawn when visible: Plotly sizes to its box
    document.body.dataset.page = name;
  }
  window.addEventListener("hashchange", show);
  show();
})();
