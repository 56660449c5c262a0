/* Choropleth of a territory's children, drawn offline: Plotly's MapLibre traces on a white
   background, no base map and no text layer, so nothing is fetched from outside the platform. */
(function () {
  "use strict";
  var box = document.getElementById("map");
  if (!box || typeof Plotly === "undefined") { return; }
  var language = document.documentElement.lang === "ar" ? "ar" : "fr";
  var numberFormat = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
  box.textContent = box.dataset.loading;

  function walk(coords, visit) {
    if (typeof coords[0] === "number") { visit(coords); return; }
    coords.forEach(function (c) { walk(c, visit); });
  }

  function view(features, width, height) {
    var west = 180, east = -180, south = 90, north = -90;
    features.forEach(function (f) {
      if (!f.geometry) { return; }
      walk(f.geometry.coordinates, function (p) {
        west = Math.min(west, p[0]); east = Math.max(east, p[0]);
        south = Math.min(south, p[1]); north = Math.max(north, p[1]);
      });
    });
    if (west > east) { return { center: { lon: -7.1, lat: 31.8 }, zoom: 4 }; }
    function y(lat) { return Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360)); }
    // MapLibre draws the world 512 px wide at zoom 0.
    var lonZoom = Math.log2((width * 360) / (512 * Math.max(east - west, 1e-3)));
    var latZoom = Math.log2((height * 2 * Math.PI) / (512 * Math.max(y(north) - y(south), 1e-4)));
    return {
      center: { lon: (west + east) / 2, lat: (south + north) / 2 },
      zoom: Math.max(1, Math.min(lonZoom, latZoom) - 0.15)
    };
  }

  function draw(collection) {
    box.textContent = "";
    var withValue = [], withoutValue = [];
    collection.features.forEach(function (f) {
      if (!f.geometry) { return; }
      (f.properties.value === null ? withoutValue : withValue).push(f);
    });
    var name = function (f) { return f.properties["name_" + language]; };
    var hover = function (f) {
      var value = f.properties.value === null ? box.dataset.noData : numberFormat.format(f.properties.value);
      var unit = box.dataset.indicatorUnit ? " " + box.dataset.indicatorUnit : "";
      return name(f) + "<br>" + box.dataset.indicatorName + " : " + value + (f.properties.value === null ? "" : unit);
    };
    var traces = [{
      type: "choroplethmap",
      geojson: { type: "FeatureCollection", features: withValue },
      featureidkey: "properties.code",
      locations: withValue.map(function (f) { return f.properties.code; }),
      z: withValue.map(function (f) { return f.properties.value; }),
      hovertext: withValue.map(hover),
      hoverinfo: "text",
      colorscale: "YlOrRd",
      reversescale: true,
      marker: { line: { width: 0.6, color: "#ffffff" }, opacity: 0.9 },
      colorbar: {
        thickness: 14, len: 0.8, tickformat: ",", exponentformat: "none",
        title: { text: box.dataset.indicatorUnit || "", side: "top" }
      }
    }];
    if (withoutValue.length) {
      traces.push({
        type: "choroplethmap",
        geojson: { type: "FeatureCollection", features: withoutValue },
        featureidkey: "properties.code",
        locations: withoutValue.map(function (f) { return f.properties.code; }),
        z: withoutValue.map(function () { return 0; }),
        hovertext: withoutValue.map(hover),
        hoverinfo: "text",
        colorscale: [[0, "#d9d9d9"], [1, "#d9d9d9"]],
        showscale: false,
        marker: { line: { width: 0.6, color: "#ffffff" } }
      });
    }
    var width = box.clientWidth || 800, height = box.clientHeight || 560;
    var layout = {
      map: Object.assign({ style: "white-bg" }, view(collection.features, width, height)),
      margin: { l: 0, r: 0, t: 0, b: 0 },
      paper_bgcolor: "#ffffff",
      separators: ", ",
      showlegend: false
    };
    Plotly.newPlot(box, traces, layout, { displaylogo: false, responsive: true, scrollZoom: true }).then(function () {
      box.dataset.rendered = String(withValue.length + withoutValue.length);
    });
    box.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      if (!point) { return; }
      var code = point.location;
      var feature = collection.features.find(function (f) { return f.properties.code === code; });
      if (feature && feature.properties.drill) {
        window.location.href = box.dataset.mapUrl + "?parent=" + encodeURIComponent(code) +
          "&indicator=" + encodeURIComponent(box.dataset.indicator) +
          (box.dataset.month ? "&month=" + encodeURIComponent(box.dataset.month) : "");
      } else {
        window.location.href = box.dataset.territoryUrl.replace("CODE", encodeURIComponent(code));
      }
    });
  }

  function load(url, accept) {
    return fetch(url, { headers: { Accept: accept } }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    });
  }

  // An indicator of the projects: the boundaries come from the territories, the values from the
  // indicator engine (/api/v1/indicators/map), joined by HCP code.
  function withValues(collection) {
    if (!box.dataset.valuesUrl) { return collection; }
    return load(box.dataset.valuesUrl, "application/json").then(function (layer) {
      collection.features.forEach(function (f) {
        var value = layer.values[f.properties.code];
        f.properties.value = value === undefined || value === null ? null : Number(value);
      });
      return collection;
    });
  }

  load(box.dataset.geojsonUrl, "application/geo+json")
    .then(withValues)
    .then(draw)
    .catch(function () { box.textContent = box.dataset.error; box.dataset.failed = "true"; });
})();
