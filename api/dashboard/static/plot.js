// Spectrum plot (SVG: detectors in dBm against frequency in MHz, axes, grid, legend) and a
// waterfall of recent mean spectra (canvas). No library: a few scales and paths.
const DETECTOR_COLOURS = { min: "#3b82c4", max: "#c43b3b", mean: "#1b7f3b", median: "#c48a1b", sample: "#777" };
const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceTicks(lo, hi, count) {
  const span = hi - lo, raw = span / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => span / s <= count) || 10 * mag;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(Number(t.toFixed(6)));
  return ticks;
}

function drawSpectrum(container, spectrum) {
  const W = 900, H = 380, M = { left: 60, right: 130, top: 12, bottom: 44 };
  const mhz = spectrum.frequencies_hz.map(f => f / 1e6);
  const all = Object.values(spectrum.detectors).flat();
  const yLo = Math.floor(Math.min(...all) / 10) * 10, yHi = Math.ceil(Math.max(...all) / 10) * 10;
  const xLo = mhz[0], xHi = mhz[mhz.length - 1];
  const x = f => M.left + (f - xLo) / (xHi - xLo) * (W - M.left - M.right);
  const y = v => M.top + (yHi - v) / (yHi - yLo) * (H - M.top - M.bottom);
  const svg = svgEl("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, id: "spectrum-svg",
    "data-x-min-mhz": xLo, "data-x-max-mhz": xHi, "data-plot-left": M.left, "data-plot-right": W - M.right });
  const grid = svgEl("g", { class: "grid" }), axes = svgEl("g", { class: "axis" });
  for (const t of niceTicks(xLo, xHi, 8)) {
    grid.appendChild(svgEl("line", { x1: x(t), x2: x(t), y1: M.top, y2: H - M.bottom }));
    axes.appendChild(svgEl("text", { x: x(t), y: H - M.bottom + 16, "text-anchor": "middle" }, t.toFixed(1)));
  }
  for (const t of niceTicks(yLo, yHi, 8)) {
    grid.appendChild(svgEl("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t) }));
    axes.appendChild(svgEl("text", { x: M.left - 6, y: y(t) + 4, "text-anchor": "end" }, String(t)));
  }
  axes.appendChild(svgEl("path", { d: `M${M.left},${M.top}V${H - M.bottom}H${W - M.right}`, fill: "none" }));
  axes.appendChild(svgEl("text", { x: (M.left + W - M.right) / 2, y: H - 6, "text-anchor": "middle" }, "frequency (MHz)"));
  axes.appendChild(svgEl("text", { x: 14, y: H / 2, transform: `rotate(-90 14 ${H / 2})`, "text-anchor": "middle" },
    `power (${spectrum.units} per bin)`));
  svg.appendChild(grid);
  svg.appendChild(axes);
  const legend = svgEl("g", { class: "legend" });
  let row = 0;
  for (const [name, values] of Object.entries(spectrum.detectors)) {
    const d = values.map((v, i) => `${i ? "L" : "M"}${x(mhz[i]).toFixed(2)},${y(v).toFixed(2)}`).join("");
    svg.appendChild(svgEl("path", { d, fill: "none", stroke: DETECTOR_COLOURS[name] || "#000",
      "stroke-width": name === "mean" ? 1.6 : 1, class: "trace", "data-detector": name }));
    legend.appendChild(svgEl("line", { x1: W - M.right + 12, x2: W - M.right + 36, y1: M.top + 10 + row * 18,
      y2: M.top + 10 + row * 18, stroke: DETECTOR_COLOURS[name] || "#000", "stroke-width": 2 }));
    legend.appendChild(svgEl("text", { x: W - M.right + 42, y: M.top + 14 + row * 18 }, name));
    row++;
  }
  svg.appendChild(legend);
  const mean = spectrum.detectors.mean || Object.values(spectrum.detectors)[0];
  const peak = mean.indexOf(Math.max(...mean));
  svg.setAttribute("data-peak-mhz", mhz[peak].toFixed(4));
  svg.setAttribute("data-peak-dbm", mean[peak].toFixed(2));
  container.replaceChildren(svg);
  return svg;
}

function drawWaterfall(canvas, spectra) {
  // one row per recording, newest at the top; colour from the mean detector's dBm
  const ctx = canvas.getContext("2d");
  const rows = spectra.length, cols = spectra[0].length;
  const all = spectra.flat(), lo = Math.min(...all), hi = Math.max(...all);
  const image = ctx.createImageData(cols, rows);
  spectra.forEach((values, r) => values.forEach((v, c) => {
    const t = (v - lo) / Math.max(hi - lo, 1e-9), i = 4 * (r * cols + c);
    image.data[i] = Math.round(255 * Math.min(1, 2 * t));
    image.data[i + 1] = Math.round(255 * Math.max(0, 2 * t - 1));
    image.data[i + 2] = Math.round(255 * (1 - t));
    image.data[i + 3] = 255;
  }));
  const off = document.createElement("canvas");
  off.width = cols; off.height = rows;
  off.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

// Line plots of a recording's data products (the SEA action's PSD, APD, power vs. time and
// periodic frame power): one SVG each, the series in colours, axes, grid, legend. logY plots the
// decades of a percentage (the APD), leaving out zeros.
const SERIES_COLOURS = ["#1b7f3b", "#c43b3b", "#3b82c4", "#c48a1b", "#7b3bc4", "#777"];

function drawLines(container, plot) {
  const W = 548, H = 260, M = { left: 56, right: 112, top: 24, bottom: 40 };
  const names = Object.keys(plot.series);
  const ys = names.map(n => plot.series[n].map(v => plot.logY ? (v > 0 ? Math.log10(v) : null) : v));
  const finite = ys.flat().filter(v => v !== null && Number.isFinite(v));
  let yLo = Math.min(...finite), yHi = Math.max(...finite);
  if (plot.logY) { yLo = Math.floor(yLo); yHi = Math.ceil(yHi); } else { yLo = Math.floor(yLo / 5) * 5; yHi = Math.ceil(yHi / 5) * 5; }
  if (yHi <= yLo) yHi = yLo + 1;
  const xLo = plot.x[0], xHi = plot.x[plot.x.length - 1];
  const x = v => M.left + (v - xLo) / ((xHi - xLo) || 1) * (W - M.left - M.right);
  const y = v => M.top + (yHi - v) / (yHi - yLo) * (H - M.top - M.bottom);
  const svg = svgEl("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "product", id: plot.id,
    "data-x-min": xLo, "data-x-max": xHi, "data-y-min": yLo, "data-y-max": yHi });
  const grid = svgEl("g", { class: "grid" }), axes = svgEl("g", { class: "axis" });
  for (const t of niceTicks(xLo, xHi, 6)) {
    grid.appendChild(svgEl("line", { x1: x(t), x2: x(t), y1: M.top, y2: H - M.bottom }));
    axes.appendChild(svgEl("text", { x: x(t), y: H - M.bottom + 14, "text-anchor": "middle" }, String(t)));
  }
  const yTicks = plot.logY ? Array.from({ length: yHi - yLo + 1 }, (_, i) => yLo + i) : niceTicks(yLo, yHi, 6);
  for (const t of yTicks) {
    grid.appendChild(svgEl("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t) }));
    axes.appendChild(svgEl("text", { x: M.left - 4, y: y(t) + 4, "text-anchor": "end" },
      plot.logY ? (t >= 0 ? String(10 ** t) : `1e${t}`) : String(t)));
  }
  axes.appendChild(svgEl("path", { d: `M${M.left},${M.top}V${H - M.bottom}H${W - M.right}`, fill: "none" }));
  axes.appendChild(svgEl("text", { x: (M.left + W - M.right) / 2, y: H - 6, "text-anchor": "middle" }, plot.xLabel));
  axes.appendChild(svgEl("text", { x: 12, y: (M.top + H - M.bottom) / 2, "text-anchor": "middle",
    transform: `rotate(-90 12 ${(M.top + H - M.bottom) / 2})` }, plot.yLabel));
  axes.appendChild(svgEl("text", { x: M.left, y: 14, class: "title" }, plot.title));
  svg.appendChild(grid);
  svg.appendChild(axes);
  const legend = svgEl("g", { class: "legend" });
  names.forEach((name, i) => {
    const colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
    let d = "", pen = "M";
    ys[i].forEach((v, j) => {
      if (v === null || !Number.isFinite(v)) { pen = "M"; return; }
      d += `${pen}${x(plot.x[j]).toFixed(1)},${y(v).toFixed(1)}`;
      pen = "L";
    });
    svg.appendChild(svgEl("path", { d, fill: "none", stroke: colour, "stroke-width": 1.2, class: "trace", "data-series": name }));
    legend.appendChild(svgEl("line", { x1: W - M.right + 8, x2: W - M.right + 24, y1: M.top + 8 + i * 14,
      y2: M.top + 8 + i * 14, stroke: colour, "stroke-width": 2 }));
    legend.appendChild(svgEl("text", { x: W - M.right + 28, y: M.top + 12 + i * 14 }, name));
  });
  svg.appendChild(legend);
  container.appendChild(svg);
  return svg;
}

// The four plots of one capture's products, as /products gives them.
function drawProducts(container, capture) {
  container.replaceChildren();
  for (const p of capture.products) {
    const id = "product-" + p.name.toLowerCase().replace(/[^a-z]+/g, "-");
    if (p.axis_is_y) {  // the APD: the percentage of samples above each level, decades on the y axis
      const [values] = Object.values(p.series);
      drawLines(container, { id, title: p.name, x: p.axis, series: { "% above": values }, logY: true,
        xLabel: `level (${p.axis_units})`, yLabel: `${p.values_units} above` });
    } else {
      const hz = p.axis_units === "Hz";
      drawLines(container, { id, title: p.name, x: hz ? p.axis.map(f => f / 1e6) : p.axis, series: p.series,
        xLabel: hz ? "frequency (MHz)" : `${p.axis_units === "ms" ? "time" : ""} (${p.axis_units})`,
        yLabel: p.values_units });
    }
  }
}
