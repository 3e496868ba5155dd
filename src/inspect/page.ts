/**
 * The inspector's page: one self-contained HTML document (no build step, no external
 * resources) served by the inspector. It lists the sessions (machine, id, model, state); for
 * the selected one it draws the statechart with its active states lit and the last
 * transition's edges animated, both sides' transcripts, a per-turn latency plot from the
 * agent's `voxstate.metrics` reports, an event log filterable by type (audio events folded
 * into one line per run), the redacted context; a slider travels back to any recorded event
 * (chart, context, transcripts and plot as they were then); the session's log is saved as
 * JSONL and opened again (here or with `voxstate inspect FILE`). Records dropped for a slow
 * page are counted in the header.
 * @module
 */

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:13px system-ui,sans-serif;color:#1b1d2a;display:grid;grid-template-columns:230px minmax(0,1fr) 380px;grid-template-rows:40px minmax(0,1fr) 36%;height:100vh}
header{grid-column:1/4;display:flex;gap:12px;align-items:center;padding:0 12px;background:#223;color:#fff}
header .dropped{color:#fc6;font-weight:bold}
header #current{font:12px ui-monospace,monospace;color:#bcd;flex:0 1 auto;min-width:0;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
header button,header label,header strong,header #status{white-space:nowrap;flex:none}
#sessions{grid-column:1;grid-row:2/4;overflow:auto;border-right:1px solid #ccd;margin:0;padding:0;list-style:none}
#sessions li{padding:6px 10px;cursor:pointer;border-bottom:1px solid #eee;line-height:1.35}
#sessions li .id{font:10px ui-monospace,monospace;color:#667}
#sessions li .state{font:11px ui-monospace,monospace;color:#1565c0}
#sessions li.done .state{color:#777}
#sessions li.selected{background:#e4e9ff}
#chart{grid-column:2;grid-row:2;overflow:auto;padding:8px}
#side{grid-column:3;grid-row:2/4;border-left:1px solid #ccd;display:flex;flex-direction:column;overflow:hidden}
#side h2{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#556;margin:0;padding:6px 8px 2px;background:#f1f2f7;border-top:1px solid #dde}
#transcripts{flex:0 0 30%;overflow:auto;margin:0;padding:4px 8px;list-style:none}
#transcripts li{margin:3px 0;padding:4px 7px;border-radius:8px;max-width:92%}
#transcripts li.user{background:#e8f5e9;margin-right:auto}
#transcripts li.agent{background:#e3f2fd;margin-left:auto;text-align:right}
#transcripts li.cut{background:#fff3e0}
#transcripts li .who{display:block;font-size:10px;color:#667}
#latency{flex:0 0 auto;padding:4px 8px;min-height:60px}
#latency .empty{color:#889;font-size:11px}
#context{flex:1;overflow:auto;margin:0;padding:8px;font-size:11px;background:#fafafa}
#bottom{grid-column:2;grid-row:3;border-top:1px solid #ccd;display:flex;flex-direction:column;overflow:hidden}
#log{flex:1;overflow:auto;margin:0;padding:0;list-style:none;font:11px ui-monospace,monospace}
#log li{padding:1px 8px;white-space:nowrap;cursor:pointer}
#log li.emitted{color:#2e7d32}
#log li.report{color:#6a1b9a;font-weight:bold}
#log li.folded{color:#888}
#log li.at{background:#ffe9a8}
.controls{display:flex;gap:8px;align-items:center;padding:4px 8px}
.controls select{max-width:170px}
#filter{width:130px}
#travel{flex:1;min-width:120px}
#zoom{position:sticky;top:0;left:0;z-index:1;float:left;font-size:11px}
.vx-state.active>rect{stroke:#1565c0;stroke-width:2.5}
.vx-atomic.active>rect,.vx-final.active>rect{fill:#90caf9}
.vx-edge.fired path{stroke:#e65100;stroke-width:3;stroke-dasharray:8 4;animation:vx-dash .6s linear infinite}
@keyframes vx-dash{to{stroke-dashoffset:-24}}
`

const SCRIPT = `
const state={records:[],sessions:new Map(),selected:null,at:null,dropped:0,charts:new Map(),types:new Set()};
const $=(id)=>document.getElementById(id);
const el=(tag,props,...children)=>{const e=document.createElement(tag);Object.assign(e,props||{});for(const c of children)e.append(c);return e;};
const SVGNS="http://www.w3.org/2000/svg";
const svgEl=(tag,attrs,text)=>{const e=document.createElementNS(SVGNS,tag);for(const [k,v] of Object.entries(attrs))e.setAttribute(k,String(v));if(text!==undefined)e.textContent=text;return e;};
const paths=(v,prefix)=>typeof v==="string"?[prefix+"."+v]:v&&typeof v==="object"?Object.entries(v).flatMap(([k,c])=>[prefix+"."+k,...paths(c,prefix+"."+k)]):[];
const leaves=(v)=>typeof v==="string"?[v]:v&&typeof v==="object"?Object.entries(v).flatMap(([k,c])=>leaves(c).map(l=>k+"."+l)):[];
const ofSession=()=>state.records.filter(r=>r.session===state.selected);
const isAudio=(t)=>/audio/i.test(t)&&!/started|stopped|done|committed|cleared/i.test(t);
const findAll=(v,key,depth,out)=>{if(!v||typeof v!=="object"||depth>4)return out;if(typeof v[key]==="string"&&!out.includes(v[key]))out.push(v[key]);for(const c of Object.values(v))findAll(c,key,depth+1,out);return out;};
const PAGE_RECORDS=20000;
function add(r){
 state.records.push(r);
 // The page keeps a bounded log too: the oldest records go first (and are counted).
 if(state.records.length>PAGE_RECORDS){const gone=state.records.splice(0,state.records.length-PAGE_RECORDS+1000);state.trimmed=(state.trimmed||0)+gone.length;$("trimmed").textContent=state.trimmed+" oldest events let go";}
 let s=state.sessions.get(r.session);
 if(!s){s={machine:r.machine,model:undefined,value:null,status:"active"};state.sessions.set(r.session,s);if(state.selected===null)state.selected=r.session;}
 if(r.kind!=="emitted"&&r.kind!=="report"){s.value=r.value;s.status=r.status;if(s.model===undefined){const m=findAll(r.context,"model",0,[]);if(m.length>0)s.model=m.join(", ");}}
 if(!state.types.has(r.event.type)){state.types.add(r.event.type);state.typesChanged=true;}
 state.sessionsChanged=true;
}
function renderSessions(){
 const ul=$("sessions");
 ul.replaceChildren(...[...state.sessions].map(([id,s])=>{
  const li=el("li",{className:(id===state.selected?"selected ":"")+(s.status==="active"?"live":"done")},
   el("strong",{textContent:s.machine}),el("br"),el("span",{className:"id",textContent:id+(s.model?" · "+s.model:"")}),el("br"),
   el("span",{className:"state",textContent:(s.status==="active"?"":s.status+" · ")+leaves(s.value).join(", ")}));
  li.dataset.session=id;li.onclick=()=>{state.selected=id;state.at=null;renderSessions();render();};return li;}));
 state.sessionsChanged=false;
}
function renderTypes(){
 const sel=$("types");const current=sel.value;
 sel.replaceChildren(el("option",{value:"",textContent:"all events"}),...[...state.types].sort().map(t=>el("option",{value:t,textContent:t})));
 sel.value=state.types.has(current)?current:"";state.typesChanged=false;
}
async function chartFor(machine){if(!state.charts.has(machine)){state.charts.set(machine,fetch("chart/"+encodeURIComponent(machine)+".svg").then(r=>r.ok?r.text():"<p>no chart for "+machine+"</p>"));}return state.charts.get(machine);}
function transcriptsOf(list){
 const out=[];
 for(const r of list){if(r.kind!=="emitted")continue;const e=r.event;
  if((e.type==="user_transcript"&&e.final!==false)||(e.type==="input_transcript"&&e.final))out.push({who:"user",text:e.text,at:r.at});
  else if(e.type==="final_transcript")out.push({who:"user",text:(e.alternatives&&e.alternatives[0]&&e.alternatives[0].text)||"",at:r.at});
  else if(e.type==="agent_transcript")out.push(e.interrupted?{who:"agent",text:e.text+" …",cut:true,at:r.at}:{who:"agent",text:e.text,at:r.at});
  else if(e.type==="output_transcript"&&e.done)out.push({who:"agent",text:e.transcript,at:r.at});}
 return out;
}
function renderTranscripts(list){
 const items=transcriptsOf(list);
 $("transcripts").replaceChildren(...items.map(t=>el("li",{className:t.who+(t.cut?" cut":"")},el("span",{className:"who",textContent:(t.who==="user"?"caller":"agent")+(t.cut?" (cut off)":"")+" · "+new Date(t.at).toISOString().slice(11,19)}),String(t.text))));
 const box=$("transcripts");box.scrollTop=box.scrollHeight;
}
const SEGMENTS=[["transcriptMs","speech end → final transcript","#66bb6a"],["llmFirstTextMs","→ first token","#42a5f5"],["ttsFirstAudioMs","→ first audio","#ab47bc"]];
function renderLatency(list){
 const turns=list.filter(r=>r.kind==="report"&&r.event.type==="voxstate.metrics").map(r=>r.event.metrics).filter(Boolean);
 const box=$("latency");
 if(turns.length===0){box.replaceChildren(el("div",{className:"empty",textContent:"No turn measured yet (the agent reports each turn's latency when its reply starts)."}));return;}
 const width=360,left=46,right=56,row=22,top=20;
 const total=(m)=>m.totalMs??SEGMENTS.reduce((s,[k])=>s+(m[k]??0),0);
 const max=Math.max(1,...turns.map(total));
 const scale=(ms)=>(ms/max)*(width-left-right);
 const svg=svgEl("svg",{width,height:top+turns.length*row+24,id:"latency-plot",role:"img","aria-label":"per-turn latency"});
 const legendX=[4,150,240];
 SEGMENTS.forEach(([,label,color],i)=>{svg.append(svgEl("rect",{x:legendX[i],y:3,width:9,height:9,fill:color}));svg.append(svgEl("text",{x:legendX[i]+12,y:11,"font-size":9,fill:"#445"},label));});
 turns.forEach((m,i)=>{const y=top+i*row;let x=left;
  const g=svgEl("g",{class:"turn","data-turn":m.turn});
  g.append(svgEl("text",{x:4,y:y+13,"font-size":10,fill:"#334"},"turn "+m.turn));
  for(const [key,label,color] of SEGMENTS){const v=m[key];if(typeof v!=="number"||v<=0)continue;const w=Math.max(1,scale(v));
   const r=svgEl("rect",{x,y:y+2,width:w,height:14,fill:color,class:"segment","data-segment":key});r.append(svgEl("title",{},label+": "+Math.round(v)+" ms"));g.append(r);x+=w;}
  g.append(svgEl("text",{x:x+4,y:y+13,"font-size":10,fill:"#223"},Math.round(total(m))+" ms"));
  svg.append(g);});
 const axisY=top+turns.length*row+4;
 svg.append(svgEl("line",{x1:left,x2:width-right,y1:axisY,y2:axisY,stroke:"#99a"}));
 svg.append(svgEl("text",{x:left,y:axisY+12,"font-size":9,fill:"#667"},"0"));
 svg.append(svgEl("text",{x:width-right,y:axisY+12,"font-size":9,fill:"#667","text-anchor":"middle"},Math.round(max)+" ms"));
 box.replaceChildren(svg);
}
function logLines(list,index){
 const type=$("types").value;const filter=$("filter").value.trim().toLowerCase();const lines=[];
 list.forEach((r,i)=>{
  if(type!==""&&r.event.type!==type)return;
  if(filter!==""&&!r.event.type.toLowerCase().includes(filter))return;
  const last=lines[lines.length-1];
  // A run of audio records (frames received, emitted, sent) is one line: how many, of which types.
  if(isAudio(r.event.type)&&last&&last.audio){last.count++;last.last=i;last.at=last.at||i===index;if(!last.types.includes(r.event.type))last.types.push(r.event.type);return;}
  lines.push({type:r.event.type,kind:r.kind,first:i,last:i,count:1,r,at:i===index,audio:isAudio(r.event.type),types:[r.event.type]});});
 return lines.slice(-2000);
}
let shownMachine=null;
function sizeChart(){const svg=document.querySelector("#chart svg");if(!svg)return;const box=svg.viewBox.baseVal;const pane=$("chart");
 const w=pane.clientWidth-16,h=pane.clientHeight-16;const mode=$("zoom").value;
 const scale=mode==="all"?Math.min(w/box.width,h/box.height,1):mode==="height"?Math.min(1,h/box.height):1;
 svg.style.width=Math.round(box.width*scale)+"px";svg.style.height=Math.round(box.height*scale)+"px";}
function showChart(text){$("chart").innerHTML='<select id="zoom" title="chart size"><option value="height">fit height</option><option value="all">fit all</option><option value="full">100%</option></select>'+text;
 const zoom=$("zoom");zoom.value=state.zoom||"height";zoom.onchange=()=>{state.zoom=zoom.value;sizeChart();render();};sizeChart();}
window.addEventListener("resize",()=>sizeChart());
async function render(){
 if(state.sessionsChanged)renderSessions();if(state.typesChanged)renderTypes();
 const list=ofSession();const slider=$("travel");slider.max=String(Math.max(0,list.length-1));
 const index=state.at===null?list.length-1:Math.min(state.at,list.length-1);slider.value=String(index);
 $("position").textContent=list.length===0?"":(index+1)+" / "+list.length+(state.at===null?" (live)":"");
 const rec=list[index];const upTo=list.slice(0,index+1);
 if(rec){
  if(shownMachine!==rec.machine){showChart(await chartFor(rec.machine));shownMachine=rec.machine;}
  const active=new Set([rec.machine,...paths(rec.value,rec.machine)]);
  for(const g of document.querySelectorAll("#chart .vx-state"))g.classList.toggle("active",active.has(g.dataset.state));
  const prev=[...upTo].reverse().find((r,i)=>i>0&&r.kind!=="emitted"&&r.kind!=="report");
  const before=new Set(prev?[prev.machine,...paths(prev.value,prev.machine)]:[]);
  // Scroll to the leaf just entered (else the last one lit), so a change is on screen.
  const lit=[...document.querySelectorAll("#chart .vx-atomic.active,#chart .vx-final.active")];
  const leaf=lit.find(g=>!before.has(g.dataset.state))||lit[lit.length-1];if(leaf)leaf.scrollIntoView({block:"nearest",inline:"nearest"});
  for(const g of document.querySelectorAll("#chart .vx-edge")){const src=g.dataset.edge.split("#")[0];g.classList.toggle("fired",rec.kind!=="emitted"&&rec.kind!=="report"&&g.dataset.event===rec.event.type&&before.has(src));}
  const ctx=[...upTo].reverse().find(r=>r.kind!=="emitted"&&r.kind!=="report");
  $("context").textContent=JSON.stringify({event:rec.event,state:rec.value,status:rec.status,context:ctx?ctx.context:null},null,2);
  $("current").textContent=leaves(rec.value).join(", ")+(rec.status==="active"?"":" ("+rec.status+")");
 }
 renderTranscripts(upTo);renderLatency(upTo);
 const ul=$("log");
 ul.replaceChildren(...logLines(list,index).map(l=>{
  const text=new Date(l.r.at).toISOString().slice(11,23)+"  "+(l.kind==="emitted"?"⇢ ":l.kind==="report"?"◆ ":"")+(l.count>1?"audio ×"+l.count+" ("+l.types.join(", ")+")":l.type+(typeof l.r.event.code==="string"?" "+l.r.event.code:""))+(l.count===1&&(l.kind==="transition"||l.kind===undefined)?"  → "+leaves(l.r.value).join(", "):"");
  const li=el("li",{textContent:text,className:[l.kind||"transition",l.count>1?"folded":"",l.at?"at":""].join(" ")});
  li.dataset.seq=String(l.r.seq);li.dataset.type=l.type;li.onclick=()=>{state.at=l.last;render();};return li;}));
 if(state.at===null)ul.scrollTop=ul.scrollHeight;else{const at=ul.querySelector("li.at");if(at)at.scrollIntoView({block:"nearest"});}
}
$("travel").oninput=(e)=>{const list=ofSession();const i=Number(e.target.value);state.at=i>=list.length-1?null:i;render();};
$("live").onclick=()=>{state.at=null;render();};
$("filter").oninput=()=>render();
$("types").onchange=()=>render();
$("save").onclick=()=>{const list=ofSession();if(list.length===0)return;const blob=new Blob([list.map(r=>JSON.stringify(r)).join("\\n")+"\\n"],{type:"application/x-ndjson"});const a=el("a",{href:URL.createObjectURL(blob),download:"voxstate-"+list[0].machine+"-"+state.selected+".jsonl"});document.body.append(a);a.click();a.remove();};
function load(text){state.records=[];state.sessions.clear();state.types.clear();state.selected=null;state.at=null;for(const line of text.split("\\n"))if(line.trim()!=="")add(JSON.parse(line));state.typesChanged=true;render();}
$("open").onchange=async(e)=>{const f=e.target.files[0];if(f)load(await f.text());};
let pending=false;const schedule=()=>{if(!pending){pending=true;requestAnimationFrame(()=>{pending=false;render();});}};
function connect(){const ws=new WebSocket(location.href.replace(/^http/,"ws").replace(/[?#].*$/,"").replace(/[^/]*$/,"")+"ws");
 ws.onopen=()=>{$("status").textContent="connected";};ws.onclose=()=>{$("status").textContent="disconnected";};
 ws.onmessage=(m)=>{const msg=JSON.parse(m.data);
  if(msg.type==="hello"){for(const r of msg.records)add(r);schedule();}
  else if(msg.type==="record"){add(msg.record);schedule();}
  else if(msg.type==="dropped"){state.dropped+=msg.count;$("dropped").textContent=state.dropped+" events dropped (this page read too slowly)";}};}
connect();
`

/** The page, as served at the inspector's root. */
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>voxstate inspector</title><style>${STYLE}</style></head>
<body>
<header><strong>voxstate inspector</strong><span id="status">connecting</span><span id="current"></span><span class="dropped" id="dropped"></span><span id="trimmed"></span>
<span style="flex:1"></span><button id="save">Save session as JSONL</button><label>Open <input type="file" id="open" accept=".jsonl,.ndjson"></label></header>
<ul id="sessions"></ul>
<div id="chart"></div>
<div id="side"><h2>Transcripts</h2><ul id="transcripts"></ul><h2>Latency per turn</h2><div id="latency"></div><h2>Context</h2><pre id="context"></pre></div>
<div id="bottom"><div class="controls"><select id="types"><option value="">all events</option></select><input id="filter" placeholder="filter event types"><input type="range" id="travel" min="0" max="0" value="0"><span id="position"></span><button id="live">Live</button></div><ul id="log"></ul></div>
<script>${SCRIPT}</script>
</body></html>
`
