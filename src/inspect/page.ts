/**
 * The inspector's page: one self-contained HTML document (no build step, no external
 * resources) served by the inspector. It lists the sessions, draws the selected session's
 * statechart with its active states lit and the last transition's edges animated, keeps a
 * filterable event log and the redacted context, travels back in time with a slider, and
 * saves what it received as JSONL.
 * @module
 */

const STYLE = `
body{margin:0;font:13px system-ui,sans-serif;display:grid;grid-template-columns:220px 1fr 360px;grid-template-rows:40px 1fr 40%;height:100vh}
header{grid-column:1/4;display:flex;gap:12px;align-items:center;padding:0 12px;background:#223;color:#fff}
header .dropped{color:#fc6}
#sessions{grid-column:1;grid-row:2/4;overflow:auto;border-right:1px solid #ccd;margin:0;padding:0;list-style:none}
#sessions li{padding:6px 10px;cursor:pointer;border-bottom:1px solid #eee}
#sessions li.selected{background:#e4e9ff}
#chart{grid-column:2;grid-row:2;overflow:auto;padding:8px}
#side{grid-column:3;grid-row:2/4;border-left:1px solid #ccd;display:flex;flex-direction:column;overflow:hidden}
#side pre{flex:1;overflow:auto;margin:0;padding:8px;font-size:11px;background:#fafafa}
#bottom{grid-column:2;grid-row:3;border-top:1px solid #ccd;display:flex;flex-direction:column;overflow:hidden}
#log{flex:1;overflow:auto;margin:0;padding:0;list-style:none;font:11px ui-monospace,monospace}
#log li{padding:1px 8px}
#log li.at{background:#ffe9a8}
.controls{display:flex;gap:8px;align-items:center;padding:4px 8px}
#travel{flex:1}
.vx-state.active>rect{stroke:#1565c0;stroke-width:2.5}
.vx-atomic.active>rect,.vx-final.active>rect{fill:#90caf9}
.vx-edge.fired path{stroke:#e65100;stroke-width:3;stroke-dasharray:8 4;animation:vx-dash .6s linear infinite}
@keyframes vx-dash{to{stroke-dashoffset:-24}}
`

const SCRIPT = `
const state={records:[],sessions:new Map(),selected:null,at:null,dropped:0,charts:new Map()};
const $=(id)=>document.getElementById(id);
const paths=(v,prefix)=>typeof v==="string"?[prefix+"."+v]:v&&typeof v==="object"?Object.entries(v).flatMap(([k,c])=>[prefix+"."+k,...paths(c,prefix+"."+k)]):[];
const ofSession=()=>state.records.filter(r=>r.session===state.selected);
function add(r){state.records.push(r);if(!state.sessions.has(r.session)){state.sessions.set(r.session,r.machine);if(state.selected===null)state.selected=r.session;renderSessions();}}
function renderSessions(){const ul=$("sessions");ul.replaceChildren(...[...state.sessions].map(([id,m])=>{const li=document.createElement("li");li.textContent=m+" · "+id;li.dataset.session=id;if(id===state.selected)li.className="selected";li.onclick=()=>{state.selected=id;state.at=null;renderSessions();render();};return li;}));}
async function chartFor(machine){if(!state.charts.has(machine)){state.charts.set(machine,fetch("chart/"+encodeURIComponent(machine)+".svg").then(r=>r.text()));}return state.charts.get(machine);}
let shownMachine=null;
async function render(){const list=ofSession();const slider=$("travel");slider.max=String(Math.max(0,list.length-1));const index=state.at===null?list.length-1:Math.min(state.at,list.length-1);slider.value=String(index);$("position").textContent=list.length===0?"":(index+1)+" / "+list.length+(state.at===null?" (live)":"");const rec=list[index];
 if(rec){if(shownMachine!==rec.machine){$("chart").innerHTML=await chartFor(rec.machine);shownMachine=rec.machine;}
  const active=new Set([rec.machine,...paths(rec.value,rec.machine)]);
  for(const g of document.querySelectorAll("#chart .vx-state"))g.classList.toggle("active",active.has(g.dataset.state));
  const leaf=document.querySelector("#chart .vx-atomic.active,#chart .vx-final.active");if(leaf)leaf.scrollIntoView({block:"center",inline:"center"});
  const prev=list[index-1];const before=new Set(prev?[prev.machine,...paths(prev.value,prev.machine)]:[]);
  for(const g of document.querySelectorAll("#chart .vx-edge")){const src=g.dataset.edge.split("#")[0];g.classList.toggle("fired",g.dataset.event===rec.event.type&&before.has(src));}
  $("context").textContent=JSON.stringify({state:rec.value,status:rec.status,context:rec.context},null,2);$("current").textContent=JSON.stringify(rec.value);}
 const filter=$("filter").value.trim().toLowerCase();const ul=$("log");
 ul.replaceChildren(...list.map((r,i)=>({r,i})).filter(({r})=>filter===""||r.event.type.toLowerCase().includes(filter)).map(({r,i})=>{const li=document.createElement("li");li.textContent=new Date(r.at).toISOString().slice(11,23)+"  "+r.event.type+"  → "+JSON.stringify(r.value);li.dataset.seq=String(r.seq);if(i===index)li.className="at";li.onclick=()=>{state.at=i;render();};return li;}));
 if(state.at===null)ul.scrollTop=ul.scrollHeight;}
$("travel").oninput=(e)=>{const list=ofSession();const i=Number(e.target.value);state.at=i>=list.length-1?null:i;render();};
$("live").onclick=()=>{state.at=null;render();};
$("filter").oninput=()=>render();
$("save").onclick=()=>{const blob=new Blob([state.records.map(r=>JSON.stringify(r)).join("\\n")+"\\n"],{type:"application/x-ndjson"});const a=document.createElement("a");a.href=URL.createObjectURL(blob);a.download="voxstate-inspect.jsonl";a.click();};
$("open").onchange=async(e)=>{const f=e.target.files[0];if(!f)return;state.records=[];state.sessions.clear();state.selected=null;state.at=null;for(const line of (await f.text()).split("\\n"))if(line.trim()!=="")add(JSON.parse(line));renderSessions();render();};
let pending=false;const schedule=()=>{if(!pending){pending=true;requestAnimationFrame(()=>{pending=false;render();});}};
function connect(){const ws=new WebSocket(location.href.replace(/^http/,"ws").replace(/\\/?[^/]*$/,"/ws"));ws.onopen=()=>{$("status").textContent="connected";};ws.onclose=()=>{$("status").textContent="disconnected";};
 ws.onmessage=(m)=>{const msg=JSON.parse(m.data);if(msg.type==="hello"){for(const r of msg.records)add(r);schedule();}else if(msg.type==="record"){add(msg.record);schedule();}else if(msg.type==="dropped"){state.dropped+=msg.count;$("dropped").textContent=state.dropped+" events dropped (viewer too slow)";}};}
if(window.VOXSTATE_RECORDS){for(const r of window.VOXSTATE_RECORDS)add(r);render();}else connect();
`

/** The page, as served at the inspector's root. */
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>voxstate inspector</title><style>${STYLE}</style></head>
<body>
<header><strong>voxstate inspector</strong><span id="status">connecting</span><span id="current"></span><span class="dropped" id="dropped"></span>
<span style="flex:1"></span><button id="save">Save JSONL</button><label>Open <input type="file" id="open" accept=".jsonl"></label></header>
<ul id="sessions"></ul>
<div id="chart"></div>
<div id="side"><pre id="context"></pre></div>
<div id="bottom"><div class="controls"><input id="filter" placeholder="filter events"><input type="range" id="travel" min="0" max="0" value="0"><span id="position"></span><button id="live">Live</button></div><ul id="log"></ul></div>
<script>${SCRIPT}</script>
</body></html>
`
