// The map: creditcore's clusters as a vector source, circles and counts, click to expand.
import {Map as MapLibreMap, Marker} from '/maplibre/maplibre-gl.mjs';

const config = await (await fetch('/config.json')).json();
const params = new URLSearchParams(location.search);
const view = {
  center: [Number(params.get('lng') ?? config.center[0]), Number(params.get('lat') ?? config.center[1])],
  zoom: Number(params.get('zoom') ?? config.zoom),
};

// A blank style: a background layer only (there are no base tiles here), and the clusters.
const style = {
  version: 8,
  sources: {
    gigs: {
      type: 'vector',
      tiles: [`${location.origin}/tiles/{z}/{x}/{y}.pbf`],
      minzoom: 0,
      maxzoom: config.maxzoom,
    },
  },
  layers: [
    {id: 'background', type: 'background', paint: {'background-color': '#e9eef2'}},
    {
      id: 'clusters', type: 'circle', source: 'gigs', 'source-layer': config.layer,
      filter: ['has', 'point_count'],
      paint: {
        'circle-color': ['step', ['get', 'point_count'], '#51bbd6', 100, '#f1a340', 750, '#e0555b'],
        'circle-radius': ['step', ['get', 'point_count'], 14, 100, 20, 750, 27],
        'circle-stroke-width': 2,
        'circle-stroke-color': '#ffffff',
      },
    },
    {
      id: 'gigs', type: 'circle', source: 'gigs', 'source-layer': config.layer,
      filter: ['!', ['has', 'point_count']],
      paint: {'circle-color': '#2b6cb0', 'circle-radius': 5, 'circle-stroke-width': 1, 'circle-stroke-color': '#fff'},
    },
  ],
};

const map = new MapLibreMap({container: 'map', style, center: view.center, zoom: view.zoom, attributionControl: false});
window.creditcoreMap = map;
window.mapState = {clicks: 0, leaves: null, leavesOf: null};

// Counts as HTML markers: a symbol layer would need glyphs, which come from a font server.
const markers = new globalThis.Map();
function updateCounts() {
  const seen = new Set();
  for (const f of map.querySourceFeatures('gigs', {sourceLayer: config.layer, filter: ['has', 'point_count']})) {
    if (seen.has(f.id)) continue;
    seen.add(f.id);
    if (!markers.has(f.id)) {
      const el = document.createElement('div');
      el.className = 'count';
      el.textContent = String(f.properties.point_count_abbreviated);
      markers.set(f.id, new Marker({element: el}).setLngLat(f.geometry.coordinates).addTo(map));
    }
  }
  for (const [id, marker] of markers) {
    if (!seen.has(id)) { marker.remove(); markers.delete(id); }
  }
}
map.on('idle', updateCounts);

async function showLeaves(clusterId, count) {
  const response = await fetch(`/leaves/${clusterId}?limit=50`);
  const leaves = (await response.json()).features;
  document.getElementById('selection').textContent =
    `${count} gigs${count > leaves.length ? ` (first ${leaves.length})` : ''}`;
  const list = document.getElementById('leaves');
  list.replaceChildren(...leaves.map((leaf) => {
    const li = document.createElement('li');
    li.dataset.id = leaf.id;
    li.textContent = leaf.properties.title ?? leaf.id;
    const credits = document.createElement('span');
    credits.textContent = `${leaf.properties.credits ?? ''} cr`;
    li.append(credits);
    return li;
  }));
  window.mapState.leaves = leaves.map((leaf) => leaf.id);
  window.mapState.leavesOf = clusterId;
}

map.on('click', 'clusters', async (event) => {
  const feature = event.features[0];
  const p = feature.properties;
  window.mapState.clicks += 1;
  map.easeTo({center: feature.geometry.coordinates, zoom: p.expansion_zoom, duration: 300});
  await showLeaves(p.cluster_id, p.point_count);
});
map.on('click', 'gigs', (event) => {
  const p = event.features[0].properties;
  document.getElementById('selection').textContent = p.title ?? p.point_id;
  document.getElementById('leaves').replaceChildren();
});
for (const layer of ['clusters', 'gigs']) {
  map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
}
map.once('idle', () => { window.mapState.ready = true; });
