/* RevivaTech tracker (terse: 3.5 KB gzip budget), see docs/analytics.md
   Delivery: each page view is sent at once (beacon); the rest every 10 s and by beacon whenever
   the page is hidden or left. Unsent events (offline, refused beacon, failed fetch) wait in the tab's
   sessionStorage when the visitor consented (data-consent: the cookie that says so), else in
   memory, and are resent on the next page, on "online" and on the next tick. */
((w,d,n)=>{
let c=d.currentScript.dataset,E=c.endpoint,L=location,now=Date.now,path=L.pathname,q=[],eng=0,vis,dep,ex,fm,fs,left,
clk=[],mut=0,errs=0,V={},vd,cls=0,win=0,ws=0,wl=0,nav=performance.getEntriesByType("navigation")[0],K="rt_q",S;
if(!E||n.doNotTrack==1||w.doNotTrack==1||n.globalPrivacyControl)return;
let ok=()=>c.consent&&("; "+d.cookie+";").includes("; "+c.consent+";");
try{S=sessionStorage;q=ok()&&JSON.parse(S.getItem(K))||[]}catch(e){}
let keep=()=>{try{ok()&&q.length?S.setItem(K,JSON.stringify(q)):S.removeItem(K)}catch(e){}};
let send=b=>{
if(!q.length||n.onLine===!1)return keep();
let ev=q.splice(0,50),body=JSON.stringify({sent_at:now(),events:ev}),back=()=>{q.unshift(...ev);keep()};
b&&n.sendBeacon(E,body)||fetch(E,{method:"POST",body,keepalive:!0}).then(r=>(r.status>499||r.status==429)&&back(),back);
send(b)};
let t=(type,e={})=>{e.type=type;e.t=now();e.path=path;q.push(e)>49?send():keep()};
let on=(o,type,f,opt)=>o.addEventListener(type,f,opt);
let pause=()=>{vis&&(eng+=now()-vis);vis=0};
let resume=()=>{vis=vis||d.visibilityState=="visible"&&now()};
let page=how=>{
let e={nav:how},u;
new URLSearchParams(L.search).forEach((v,k)=>{/^utm_/.test(k)&&v&&((u=e.utm=u||{})[k]=v.slice(0,99))});
how=="load"&&d.referrer.indexOf(L.origin)&&(e.ref=d.referrer.slice(0,999));
dep=ex=left=0;fm={};fs={};resume();t("pageview",e);send(1)};
let leave=()=>{
if(left)return;left=1;
pause();
for(let f in fm)fs[f]||t("form_abandon",fm[f]?{form:f,field:fm[f]}:{form:f});
t("page_leave",{engaged_ms:eng});eng=0;fm={}};
let route=()=>L.pathname!=path&&(leave(),path=L.pathname,page("history"));
for(let m of["pushState","replaceState"]){let o=history[m];history[m]=function(){o.apply(this,arguments);route()}}
let el=(x,count,a=x.target.closest?x.target:x.target.parentElement)=>{
let e={x:x.pageX|0,y:x.pageY|0,count},b=a.closest("a,button,label,summary"),p=[],i=0,s;
for(;a.tagName&&i++<4;a=a.parentElement){s=a.tagName.toLowerCase();if(a.id){p.unshift(s+"#"+a.id);break}p.unshift(s+(a.classList[0]?"."+a.classList[0]:""))}
e.sel=p.join(">").slice(0,200);
(s=b&&b.innerText.trim().slice(0,80))&&(e.text=s);
return e};
on(d,"click",x=>{
let a=x.target.closest?x.target:x.target.parentElement,e=el(x),ts=now(),m=mut;
t("click",e);
(a=a.closest("[data-rt-event]"))&&t(a.dataset.rtEvent);
clk=clk.filter(k=>ts-k[2]<1e3&&Math.abs(k[0]-e.x)<31&&Math.abs(k[1]-e.y)<31);
clk.push([e.x,e.y,ts])==3&&t("rage_click",el(x,3));
x.target.closest("a,button,label,summary,input,select,textarea,[role=button],[onclick]")||
setTimeout(()=>mut==m&&L.pathname==path&&t("dead_click",el(x)),1e3)},!0);
new MutationObserver(()=>mut++).observe(d,{childList:!0,subtree:!0,attributes:!0,characterData:!0});
let fid=f=>f.id||f.getAttribute("name")||new URL(f.getAttribute("action")||"",L).pathname;
on(d,"focusin",x=>{
let a=x.target,f=a.form,id,name=a.name||a.id||a.type;
if(!f||!/^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName))return;
id=fid(f);
id in fm||(fm[id]="",t("form_start",{form:id}),id==c.book&&t("booking_started"));
fm[id]!=name&&t("field_focus",{form:id,field:fm[id]=name})});
on(d,"submit",x=>{
let id=fid(x.target),b=x.submitter;
fs[id]=1;t("form_submit",{form:id});
b&&b.name=="decision"&&t(b.value=="approve"?"quote_approved":"quote_declined")});
let go=x=>x.defaultPrevented||(leave(),vitals(),send(1));
on(w,"submit",go);
on(w,"click",x=>{let a=x.target.closest&&x.target.closest("a[href]");a&&!a.target&&/^http/.test(a.protocol)&&a.href.split("#")[0]!=L.href.split("#")[0]&&!x.ctrlKey&&!x.metaKey&&!x.shiftKey&&go(x)});
on(d,"mouseout",x=>x.relatedTarget||x.clientY>0||ex++||t("exit_intent"));
on(w,"scroll",()=>{
let h=d.documentElement,pct=(scrollY+h.clientHeight)/h.scrollHeight*100;
for(let m of[25,50,75,100])pct>m-1&&dep<m&&t("scroll",{depth:dep=m})},{passive:!0});
let err=(message,x)=>errs++<5&&t("js_error",{message:String(message||"error").slice(0,300),source:x.filename,line:x.lineno,col:x.colno});
on(w,"error",x=>err(x.message,x));
on(w,"unhandledrejection",x=>err(x.reason&&x.reason.message||x.reason,{}));
let po=(type,f,opt={})=>{try{opt.type=type;opt.buffered=!0;new PerformanceObserver(l=>l.getEntries().forEach(f)).observe(opt)}catch(e){}};
po("largest-contentful-paint",e=>V.LCP=e.startTime);
po("paint",e=>e.name=="first-contentful-paint"&&(V.FCP=e.startTime));
po("layout-shift",e=>{if(!e.hadRecentInput){win=e.startTime-wl<1e3&&e.startTime-ws<5e3?win+e.value:(ws=e.startTime,e.value);wl=e.startTime;V.CLS=cls=Math.max(cls,win)}});
po("event",e=>e.interactionId&&e.duration>(V.INP||0)&&(V.INP=e.duration),{durationThreshold:16});
nav&&(V.TTFB=nav.responseStart);
let vitals=()=>{for(let k in V)vd||t("web_vital",{name:k,value:V[k]});vd=1};
on(d,"visibilitychange",()=>d.visibilityState=="hidden"?(pause(),vitals(),send(1)):resume());
on(w,"pagehide",()=>{leave();vitals();send(1)});
on(w,"pageshow",x=>x.persisted&&page("history"));
on(w,"popstate",route);
setInterval(send,1e4);
on(w,"online",()=>send());
page("load");
d.querySelectorAll("[data-rt-view]").forEach(a=>t(a.dataset.rtView));
w.revivatech={track:(name,props)=>t("custom",{name,props})}
})(window,document,navigator);
