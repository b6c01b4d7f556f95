# Generates admin/openapi.json (checked in; admin/openapi_test.go validates it and
# checks every route of admin/routes.go is in it): python3 scripts/gen-admin-openapi.py > admin/openapi.json
import json
S=lambda **k: dict(k)
num={"type":"string","pattern":r"^\+[1-9][0-9]{1,14}$","example":"+12025550100"}
name={"type":"string","pattern":r"^[A-Za-z][A-Za-z0-9._-]{0,63}$"}
treat={"type":"string","enum":["unset","allow","screen","announce-voicemail","block","challenge"]}
perm={"type":"string","description":"all, none or a comma-separated list of unknown, anonymous, reject-with-media, voicemail, announcement, pin, vip, blocked","example":"vip,blocked,pin"}
setby={"type":"string","description":"the own settings its provider or the platform owner set (none, or a comma-separated list of unknown, anonymous, reject-with-media, voicemail, announcement): they apply whatever the permissions; the others only while the subscriber holds the permission","example":"unknown,voicemail"}
settings={"type":"object","additionalProperties":False,"properties":{
 "unknown":treat,"anonymous":treat,"reject_with_media":{"type":"string","enum":["unset","off","on"]},
 "voicemail":{"type":"string"},"announcement":{"type":"integer","minimum":0}}}
ref=lambda n: {"$ref":"#/components/schemas/"+n}
comp={
 "Problem":{"type":"object","required":["type","title","status"],"properties":{
   "type":{"type":"string"},"title":{"type":"string"},"status":{"type":"integer"},"detail":{"type":"string"},
   "field":{"type":"string","description":"the request field at fault: JSON member, query parameter, path segment or header"},
   "errors":{"type":"array","items":{"type":"object","properties":{"line":{"type":"integer"},"error":{"type":"string"}}}}}},
 "Settings":settings,
 "Range":{"type":"object","properties":{"first":num,"last":num}},
 "Provider":{"type":"object","required":["name","revision"],"properties":{"name":name,"defaults":ref("Settings"),
   "default_permissions":perm,"route":{"type":"string"},"allocations":{"type":"array","items":ref("Range")},
   "created":{"type":"string","format":"date-time"},"revision":{"type":"integer"}}},
 "ProviderCreate":{"type":"object","required":["name"],"additionalProperties":False,"properties":{"name":name,"defaults":ref("Settings"),"default_permissions":perm,"route":{"type":"string"}}},
 "ProviderPatch":{"type":"object","additionalProperties":False,"properties":{"defaults":ref("Settings"),"default_permissions":perm,"route":{"type":"string"}}},
 "Subscriber":{"type":"object","required":["name","provider","numbers","revision"],"properties":{"name":name,"provider":name,
   "numbers":{"type":"array","items":num},"settings":ref("Settings"),"permissions":perm,"set_by_provider":setby,"has_pin":{"type":"boolean"},
   "created":{"type":"string","format":"date-time"},"revision":{"type":"integer"}}},
 "SubscriberCreate":{"type":"object","required":["name","numbers"],"additionalProperties":False,"properties":{"name":name,"provider":name,
   "numbers":{"type":"array","minItems":1,"items":{"type":"string"}},"settings":ref("Settings"),"permissions":perm}},
 "SubscriberPatch":{"type":"object","additionalProperties":False,"properties":{"settings":ref("Settings"),"permissions":perm}},
 "Enterprise":{"type":"object","required":["name","numbers"],"properties":{"name":name,"provider":{"type":"string"},"numbers":{"type":"array","items":num},"created":{"type":"string","format":"date-time"},"revision":{"type":"integer"}}},
 "EnterpriseCreate":{"type":"object","required":["name"],"additionalProperties":False,"properties":{"name":name,"provider":{"type":"string"},"numbers":{"type":"array","items":{"type":"string"}}}},
 "Entry":{"type":"object","required":["number"],"properties":{"number":num,"note":{"type":"string","maxLength":200}}},
 "ListRequest":{"type":"object","required":["numbers"],"additionalProperties":False,"properties":{"numbers":{"type":"array","minItems":1,"items":{"type":"string"}},"note":{"type":"string","maxLength":200}}},
 "ListChange":{"type":"object","required":["changed","revision"],"properties":{"changed":{"type":"integer"},"revision":{"type":"integer"}}},
 "ImportReport":{"type":"object","properties":{k:{"type":"integer"} for k in ["rows","valid","duplicates","added","updated","removed","lists","error_count"]}},
 "SubscriberImportEvent":{"type":"object","description":"one line of a streamed import answer: exactly one member","minProperties":1,"maxProperties":1,"properties":{
   "progress":{"type":"object","required":["phase","done","total"],"properties":{"phase":{"type":"string","enum":["reading","writing","committing"]},
     "done":{"type":"integer","description":"bytes read (reading), subscribers written (writing, committing)"},"total":{"type":"integer","description":"-1 while reading a body of unknown length"}}},
   "row_error":{"type":"object","required":["line","error"],"properties":{"line":{"type":"integer"},"error":{"type":"string"}}},
   "report":ref("SubscriberImportReport"),"problem":ref("Problem")}},
 "SubscriberImportReport":{"type":"object","properties":{**{k:{"type":"integer"} for k in ["rows","valid","numbers","error_count","written","subscribers"]},"refused":{"type":"boolean"},"dry_run":{"type":"boolean"},"sha256":{"type":"string"}}},
 "Route":{"type":"object","required":["name"],"properties":{"name":name,"routing_number":num,"sip_uri":{"type":"string"}}},
 "RouteRequest":{"type":"object","additionalProperties":False,"properties":{"routing_number":{"type":"string"},"sip_uri":{"type":"string"}}},
 "Routes":{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":ref("Route")},"default":{"type":"string"}}},
 "DefaultRoute":{"type":"object","required":["name"],"additionalProperties":False,"properties":{"name":{"type":"string","description":"empty: no default route"}}},
 "Numbers":{"type":"object","required":["numbers"],"additionalProperties":False,"properties":{"numbers":{"type":"array","minItems":1,"items":{"type":"string"}}}},
 "Allocation":{"type":"object","required":["ranges"],"additionalProperties":False,"properties":{"ranges":{"type":"array","minItems":1,"items":{"type":"string","example":"+12025550100..+12025550199"}}}},
 "PIN":{"type":"object","required":["pin"],"additionalProperties":False,"properties":{"pin":{"type":"string","pattern":"^[0-9]{4,8}$"}}},
 "Token":{"type":"object","required":["id","role","created","expires"],"properties":{"id":{"type":"string"},"role":{"type":"string","enum":["operator","provider","subscriber"]},
   "name":{"type":"string"},"label":{"type":"string"},"created":{"type":"string","format":"date-time"},"expires":{"type":"string","format":"date-time"},
   "revoked":{"type":"string","format":"date-time"},"created_by":{"type":"string"},"token":{"type":"string","description":"the secret: in the answer to POST only, never again"}}},
 "TokenCreate":{"type":"object","required":["role"],"additionalProperties":False,"properties":{"role":{"type":"string","enum":["operator","provider","subscriber"]},
   "name":{"type":"string"},"label":{"type":"string","maxLength":64},"ttl_hours":{"type":"integer","minimum":1,"maximum":8784}}},
 "Step":{"type":"object","properties":{"rule":{"type":"string"},"outcome":{"type":"string"},"meaning":{"type":"string"}}},
 "Decision":{"type":"object","required":["id","time","called","decision","explained"],"properties":{"id":{"type":"string"},"time":{"type":"string","format":"date-time"},
   "origin":{"type":"string"},"peer":{"type":"string"},"calling":num,"called":num,"original_called":num,"presentation":{"type":"string"},"attestation":{"type":"string"},
   "subscriber":{"type":"string"},"decision":{"type":"object","description":"the engine's answer with its trace (as `callgate decide --json`)"},
   "explained":{"type":"array","items":ref("Step")},"latency_us":{"type":"integer"}}},
 "DecideRequest":{"type":"object","required":["called"],"additionalProperties":False,"properties":{"calling":{"type":"string","description":"a number, or anonymous"},"called":{"type":"string"},
   "original_called":{"type":"string"},"presentation":{"type":"string","enum":["allowed","restricted","unavailable"]},"origin":{"type":"string","enum":["sip","ain"]},"attestation":{"type":"string"}}},
}
def pagef(item): return {"type":"object","required":["items"],"properties":{"items":{"type":"array","items":ref(item)},"next_cursor":{"type":"string"},"total":{"type":"integer"},"revision":{"type":"integer"}}}
comp["User"]={"type":"object","required":["name","role","created"],"properties":{"name":name,"role":{"type":"string","enum":["operator","provider","subscriber"]},
   "tenant":{"type":"string"},"created":{"type":"string","format":"date-time"},"created_by":{"type":"string"},"locked_until":{"type":"string","format":"date-time"}}}
comp["UserCreate"]={"type":"object","required":["name","role","password"],"additionalProperties":False,"properties":{"name":name,
   "role":{"type":"string","enum":["operator","provider","subscriber"]},"tenant":{"type":"string","description":"the provider or subscriber the user acts as"},
   "password":{"type":"string","minLength":10,"maxLength":72}}}
comp["AuditRecord"]={"type":"object","required":["id","at","principal","role","via","op","object"],"properties":{
   "id":{"type":"string"},"at":{"type":"string","format":"date-time"},"principal":{"type":"string","description":"who: token id (label), user name, OS user"},
   "role":{"type":"string","enum":["operator","provider","subscriber","enterprise"],"description":"enterprise: an enterprise that revoked its own call keys with its API token (op keys.revoke)"},"actor":{"type":"string"},"via":{"type":"string","enum":["api","web","cli","ivr","b2bua","library"]},
   "op":{"type":"string","example":"list.add"},"object":{"type":"string","example":"list/subscriber/alice/blocked"},
   "provider_id":{"type":"integer"},"provider":{"type":"string"},"subscriber_id":{"type":"integer"},"subscriber":{"type":"string"},
   "before":{"description":"the object before the change (absent: it did not exist)"},"after":{"description":"the object after the change (absent: deleted)"}}}
sigact={"type":"string","enum":["default","continue","tag","allow","challenge","block","screen"],"description":"default: the platform's action (reputation.actions, keys.on_missing); tag: continue"}
comp["ProviderSignals"]={"type":"object","additionalProperties":False,"properties":{
   "reputation":{"type":"object","additionalProperties":False,"description":"the action per answer of the reputation provider","properties":{k:sigact for k in ["low","medium","high","exempt","unknown"]}},
   "key_missing":{"type":"string","enum":["default","continue","tag","block","screen"],"description":"a call from an enrolled number without a matching call key"}}}
platact={"type":"string","enum":["continue","allow","challenge","block","screen"]}
comp["PlatformSignals"]={"type":"object","required":["reputation","key_missing"],"description":"the platform's defaults the running daemon's engine applies to a setting left at default (its reputation.actions, keys.on_missing)","properties":{
   "reputation":{"type":"object","required":["low","medium","high","exempt","unknown"],"properties":{k:platact for k in ["low","medium","high","exempt","unknown"]}},
   "key_missing":platact}}
comp["ProviderSignalsView"]={"type":"object","required":["provider","signals","revision"],"properties":{"provider":name,"signals":ref("ProviderSignals"),"platform":ref("PlatformSignals"),"revision":{"type":"integer"}}}
for n in ["Provider","Subscriber","Enterprise","Entry","Token","Decision","AuditRecord","User"]: comp[n+"Page"]=pagef(n)
since_d="a duration back from now (90m, 2h, 7d; not negative) or a time: RFC 3339 (2026-05-01T12:00:00Z), or without a zone in the daemon's time zone (2026-05-01 14:02, 2026-05-01T14:02:30, 2026-05-01); the forms of the CLI's --since. A bad one is a 400 problem naming the field"
until_d="a duration back from now (90m, 2h, 7d; not negative) or a time: RFC 3339 (2026-05-01T12:00:00Z), or without a zone in the daemon's time zone (2026-05-01 14:02, 2026-05-01T14:02:30, 2026-05-01); the forms of the CLI's --until. A bad one is a 400 problem naming the field"
comp["DecisionLogDamage"]={'type': 'object', 'description': 'Present only when the search for this page met parts of the decision log it could not read (a file damaged in place after start: a torn page, a bad sector). Records in damaged segments, and damaged records, are missing from the answer; the records of a damaged index block were read from the segments instead. Counted in callgate_decision_log_search_damaged_total too.', 'properties': {'segments': {'type': 'integer', 'description': 'segments not read: their records are not in the answer'}, 'index_blocks': {'type': 'integer', 'description': 'index blocks not read: their records were looked for in the segments instead (none missing for it)'}, 'records': {'type': 'integer', 'description': 'records not read, in segments otherwise read'}}, 'example': {'segments': 1}}
comp["DecisionPage"]["properties"].update({"damaged":ref("DecisionLogDamage"),"warning":{'type': 'string', 'description': 'present with damaged: what the search could not read, for a person', 'example': 'the decision log is damaged: 1 damaged segment skipped (their records are not shown)'}})

P=lambda n,d: {"name":n,"in":"path","required":True,"schema":{"type":"string"},"description":d}
Q=lambda n,d,t="string": {"name":n,"in":"query","required":False,"schema":{"type":t},"description":d}
H=lambda n,d,req: {"name":n,"in":"header","required":req,"schema":{"type":"string"},"description":d}
cursor=Q("cursor","next_cursor of the previous page"); limit=Q("limit","most items in the page","integer")
ifm=H("If-Match","the ETag of the object as read",True); ifmo=H("If-Match","the ETag as read: refused with 412 if the object changed since",False)
errs=lambda *codes: {str(c):{"description":d,"content":{"application/problem+json":{"schema":ref("Problem")}}} for c,d in [(400,"malformed request"),(401,"no or bad token"),(403,"not permitted for this role: what it may never do, or an object it may see but not change that way (a locked list, its own allocations)"),(404,"not found; another tenant's object (for a subscriber, its provider's too) is answered so, in the words for a name nothing has, whatever the method"),(409,"exists or in use"),(412,"changed since the If-Match revision"),(422,"invalid value, named in field"),(428,"If-Match missing")] if c in codes}
std=(400,401,403,404,422)
def body(schema, ex): return {"required":True,"content":{"application/json":{"schema":ref(schema),"example":ex}}}
def ok(schema, ex=None, code="200", etag=False):
    c={"application/json":{"schema":ref(schema)}}
    if ex is not None: c["application/json"]["example"]=ex
    r={"description":"OK","content":c}
    if etag: r["headers"]={"ETag":{"schema":{"type":"string"},"description":"the object's revision, for If-Match"}}
    return {code:r}
nc={"204":{"description":"done"}}
prov_ex={"name":"acme","defaults":{"unknown":"screen"},"default_permissions":"all","allocations":[{"first":"+12025550100","last":"+12025550199"}],"created":"2026-01-02T03:04:05Z","revision":42}
sub_ex={"name":"alice","provider":"acme","numbers":["+12025550100"],"settings":{"anonymous":"block"},"permissions":"all","set_by_provider":"none","has_pin":False,"created":"2026-01-02T03:04:05Z","revision":43}
ent_ex={"name":"initech","provider":"acme","numbers":["+12025550150"],"created":"2026-01-02T03:04:05Z","revision":44}
tok_ex={"id":"0123456789abcdef","role":"subscriber","name":"alice","label":"phone app","created":"2026-01-02T03:04:05Z","expires":"2026-02-01T03:04:05Z","created_by":"provider acme","token":"cgt_0123456789abcdef_c2VjcmV0"}
dec_ex={"id":"1767323045000000000.4711","time":"2026-01-02T03:04:05Z","origin":"sip","calling":"+13125550100","called":"+12025550100","presentation":"allowed","subscriber":"alice","decision":{"action":"reject"},"explained":[{"rule":"blocked","outcome":"hit","meaning":"the caller is on the subscriber's Blocked list"}],"latency_us":12}
def op(summary, params=None, req=None, resp=None, codes=std, tag=None):
    o={"summary":summary,"responses":{}}
    if params: o["parameters"]=params
    if req: o["requestBody"]=req
    o["responses"].update(resp or nc); o["responses"].update(errs(*codes))
    if tag: o["tags"]=[tag]
    return o
paths={}
def add(m,p,o): paths.setdefault(p,{})[m.lower()]=o
pp=P("provider","provider name"); sp=P("subscriber","subscriber name or one of its numbers")
add("POST","/api/v1/tokens",op("Create an API token (its secret is shown in this answer only)",req=body("TokenCreate",{"role":"subscriber","name":"alice","label":"phone app","ttl_hours":720}),resp=ok("Token",tok_ex,"201"),tag="tokens"))
add("GET","/api/v1/tokens",op("List the tokens of the caller and of what it manages",resp=ok("TokenPage"),tag="tokens"))
add("DELETE","/api/v1/tokens/{id}",op("Revoke a token",[P("id","token id")],tag="tokens"))
add("GET","/api/v1/providers",op("List the providers the caller may see",resp=ok("ProviderPage"),tag="providers"))
add("POST","/api/v1/providers",op("Create a service provider (platform owner)",req=body("ProviderCreate",{"name":"acme","defaults":{"unknown":"screen"},"default_permissions":"all"}),resp=ok("Provider",prov_ex,"201",True),codes=std+(409,),tag="providers"))
add("GET","/api/v1/providers/{provider}",op("A provider with its allocations",[pp],resp=ok("Provider",prov_ex,etag=True),tag="providers"))
add("PATCH","/api/v1/providers/{provider}",op("Change defaults, default permissions (the provider itself or the platform owner) or route (platform owner)",[pp,ifm],req=body("ProviderPatch",{"defaults":{"anonymous":"block"},"default_permissions":"vip,blocked,pin"}),resp=ok("Provider",prov_ex,etag=True),codes=std+(412,428),tag="providers"))
add("DELETE","/api/v1/providers/{provider}",op("Delete a provider without subscribers or enterprises (platform owner)",[pp,ifmo],codes=std+(409,412),tag="providers"))
add("POST","/api/v1/providers/{provider}/allocations",op("Allocate number ranges to a provider (platform owner)",[pp],req=body("Allocation",{"ranges":["+12025550100..+12025550199"]}),resp=ok("Provider",prov_ex,"201"),codes=std+(409,),tag="providers"))
add("DELETE","/api/v1/providers/{provider}/allocations/{range}",op("Release an allocation (platform owner)",[pp,P("range","the range as allocated, FIRST..LAST")],codes=std+(409,),tag="providers"))
sig_ex={"provider":"acme","signals":{"reputation":{"medium":"block","high":"block"},"key_missing":"screen"},
   "platform":{"reputation":{"low":"allow","medium":"challenge","high":"challenge","exempt":"continue","unknown":"continue"},"key_missing":"block"},"revision":45}
add("GET","/api/v1/providers/{provider}/signals",op("A provider's spam-risk and spoof-protection actions for its subscribers' calls (unset: the platform's), with the platform's defaults as the daemon runs them",[pp],resp=ok("ProviderSignalsView",sig_ex,etag=True),tag="providers"))
add("PUT","/api/v1/providers/{provider}/signals",op("Replace a provider's spam-risk and spoof-protection actions (the provider itself or the platform owner); the trace of each call says setting=provider or setting=platform",[pp,ifmo],req=body("ProviderSignals",{"reputation":{"medium":"block","high":"block"},"key_missing":"screen"}),resp=ok("ProviderSignalsView",sig_ex,etag=True),codes=std+(412,),tag="providers"))
add("GET","/api/v1/subscribers",op("List subscribers the caller may see, in creation order; with q, only those matching it",[Q("provider","only this provider's"),Q("q","search: part of a name (any case), 3 or more digits of a number, or a whole number"),cursor,limit],resp=ok("SubscriberPage"),tag="subscribers"))
comp["SubscriberCount"]={"type":"object","required":["count"],"properties":{"count":{"type":"integer","minimum":0}}}
add("GET","/api/v1/subscribers:count",op("How many subscribers the caller may see (of one provider with provider), without listing them",[Q("provider","only this provider's")],resp=ok("SubscriberCount",{"count":1250000}),tag="subscribers"))
add("POST","/api/v1/subscribers",op("Create a subscriber (platform owner or its provider)",req=body("SubscriberCreate",{"name":"alice","provider":"acme","numbers":["+12025550100"]}),resp=ok("Subscriber",sub_ex,"201",True),codes=std+(409,),tag="subscribers"))
add("GET","/api/v1/subscribers/{subscriber}",op("A subscriber",[sp],resp=ok("Subscriber",sub_ex,etag=True),tag="subscribers"))
add("PATCH","/api/v1/subscribers/{subscriber}",op("Change treatments (the subscriber within its permissions; its provider or the platform owner any, and what they set applies whatever the permissions) or permissions (its provider)",[sp,ifm],req=body("SubscriberPatch",{"settings":{"unknown":"block","voicemail":"+12025550199"}}),resp=ok("Subscriber",sub_ex,etag=True),codes=std+(412,428),tag="subscribers"))
add("DELETE","/api/v1/subscribers/{subscriber}",op("Delete a subscriber with its numbers, lists and PIN",[sp,ifmo],codes=std+(412,),tag="subscribers"))
add("POST","/api/v1/subscribers/{subscriber}/numbers",op("Assign numbers from the provider's allocations",[sp],req=body("Numbers",{"numbers":["+12025550101"]}),resp=ok("Subscriber",sub_ex),codes=std+(409,),tag="subscribers"))
add("DELETE","/api/v1/subscribers/{subscriber}/numbers/{number}",op("Unassign a number",[sp,P("number","the number")],tag="subscribers"))
add("PUT","/api/v1/subscribers/{subscriber}/pin",op("Set the override PIN (stored hashed)",[sp],req=body("PIN",{"pin":"2468"}),tag="subscribers"))
add("DELETE","/api/v1/subscribers/{subscriber}/pin",op("Clear the override PIN",[sp],tag="subscribers"))
op_=P("owner","subscriber name or number, or provider:NAME (a provider-wide list)"); lp=P("list","vip or blocked (subscribers and providers alike; a provider's VIP list always gets through, see the engine's provider-vip step)")
add("GET","/api/v1/lists/{owner}/{list}",op("One page of a list in number order",[op_,lp,cursor,limit],resp=ok("EntryPage",{"items":[{"number":"+13125550100","note":"sales calls"}],"total":1,"revision":51},etag=True),tag="lists"))
add("POST","/api/v1/lists/{owner}/{list}",op("Add numbers to a list, all or none",[op_,lp,ifmo],req=body("ListRequest",{"numbers":["+13125550100"],"note":"sales calls"}),resp=ok("ListChange",{"changed":1,"revision":52}),codes=std+(412,),tag="lists"))
add("DELETE","/api/v1/lists/{owner}/{list}/{number}",op("Remove a number from a list",[op_,lp,P("number","the number"),ifmo],resp=ok("ListChange",{"changed":1,"revision":53}),codes=std+(412,),tag="lists"))
add("POST","/api/v1/lists/import",op("Import list rows as CSV (owner,list,number[,note]), all or nothing: any bad row and nothing is written, every bad row named in errors (a row naming another tenant's list is bad as one naming nobody: owner not found; 403 only for a list the caller may see but not change)",
  [Q("replace","true: replace each list named in the file")],req={"required":True,"content":{"text/csv":{"schema":{"type":"string"},"example":"owner,list,number,note\nalice,blocked,+13125550100,sales\n"}}},
  resp=ok("ImportReport",{"rows":1,"valid":1,"added":1,"lists":1,"error_count":0}),tag="lists"))
add("POST","/api/v1/subscribers:import",op("Create subscribers in bulk from CSV (name,provider,numbers[,permissions]; numbers separated by spaces or ';'), all or nothing: any bad row and nothing is written, every bad row named in errors; one audit record for the file. The body is streamed into the store (up to 4 GiB); with Accept: application/x-ndjson the answer streams too: progress, each bad row as found, and the report or problem last",
  [Q("dry_run","true: validate only")],req={"required":True,"content":{"text/csv":{"schema":{"type":"string"},"example":"name,provider,numbers,permissions\ndan,acme,+12025550120 +12025550121,vip,blocked\n"}}},
  resp=ok("SubscriberImportReport",{"rows":1,"valid":1,"numbers":2,"error_count":0,"refused":False,"written":1,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","dry_run":False,"subscribers":3}),tag="subscribers"))
paths["/api/v1/subscribers:import"]["post"]["responses"]["200"]["content"]["application/x-ndjson"]={"schema":ref("SubscriberImportEvent"),"example":{"progress":{"phase":"writing","done":21845,"total":1000000}}}
paths["/api/v1/subscribers:import"]["post"]["responses"]["413"]={"description":"the file is larger than the import limit","content":{"application/problem+json":{"schema":ref("Problem")}}}
ep=P("enterprise","enterprise name")
add("GET","/api/v1/enterprises",op("List the enterprises the caller may see",resp=ok("EnterprisePage"),tag="enterprises"))
add("POST","/api/v1/enterprises",op("Create an enterprise (platform owner, or a provider under itself)",req=body("EnterpriseCreate",{"name":"initech","provider":"acme","numbers":["+12025550150"]}),resp=ok("Enterprise",ent_ex,"201",True),codes=std+(409,),tag="enterprises"))
add("GET","/api/v1/enterprises/{enterprise}",op("An enterprise",[ep],resp=ok("Enterprise",ent_ex,etag=True),tag="enterprises"))
add("DELETE","/api/v1/enterprises/{enterprise}",op("Delete an enterprise",[ep,ifmo],codes=std+(412,),tag="enterprises"))
rp=P("route","route name")
add("GET","/api/v1/routes",op("Egress routes and the default (platform owner and providers)",resp=ok("Routes",{"items":[{"name":"east","sip_uri":"sip:b2bua.example"}],"default":"east"}),tag="routes"))
add("PUT","/api/v1/routes/{route}",op("Create or replace an egress route (platform owner)",[rp],req=body("RouteRequest",{"routing_number":"+12025550000","sip_uri":"sip:b2bua.example"}),resp=ok("Route",{"name":"east","routing_number":"+12025550000","sip_uri":"sip:b2bua.example"}),tag="routes"))
add("DELETE","/api/v1/routes/{route}",op("Delete a route nobody uses (platform owner)",[rp],codes=std+(409,),tag="routes"))
add("PUT","/api/v1/default-route",op("Set the platform default route (platform owner)",req=body("DefaultRoute",{"name":"east"}),tag="routes"))
add("GET","/api/v1/decisions",op("Search the decision log, newest first (records of the caller's subscribers only)",[Q("number","calling, called or original called number"),Q("since",since_d),Q("until",until_d),{**Q("action","only this action; none: the calls to the subscribers' IVR, which the B2BUA records without an action"),"schema":{"type":"string","enum":["allow","block","block-with-announcement","screen","challenge","voicemail","none"]}},cursor,limit],resp=ok("DecisionPage"),tag="decisions"))
add("GET","/api/v1/decisions/{at}",op("One call's full story: the call, the answer, every rule consulted and what it means",[P("at","the decision's id from a search: <time in Unix ns>.<seq>, its place in the log (records share times: the SCP stamps the queries of one read with the time of the read); a time alone, as ids were before, names the first record of that time the caller may see")],resp=ok("Decision",dec_ex),tag="decisions"))
add("POST","/api/v1/decide",op("Ask the engine about a call (not logged); a provider or subscriber only about its own numbers",req=body("DecideRequest",{"calling":"+13125550100","called":"+12025550100"}),resp=ok("Decision",dec_ex),tag="decisions"))
add("POST","/api/v1/users",op("Create a web UI user (password hashed with bcrypt; whoever may issue a token for the same role and tenant)",req=body("UserCreate",{"name":"alice-web","role":"subscriber","tenant":"alice","password":"correct horse battery"}),resp=ok("User",{"name":"alice-web","role":"subscriber","tenant":"alice","created":"2026-01-01T12:00:00Z","created_by":"operator"},"201"),codes=std+(409,),tag="users"))
add("GET","/api/v1/users",op("The web UI users the caller may manage",resp=ok("UserPage"),tag="users"))
add("DELETE","/api/v1/users/{name}",op("Delete a web UI user",[P("name","user name")],tag="users"))
add("GET","/api/v1/audit",op("Search the audit log, newest first: every change with who, role, path, when, what, before and after (a provider sees its own and its subscribers' records, a subscriber its own)",[Q("since",since_d),Q("until",until_d),Q("actor","principal or actor contains this"),Q("object","object contains this (subscriber/alice, list/)"),cursor,limit],
  resp=ok("AuditRecordPage",{"items":[{"id":"1881c2a0b8e4f00012345678","at":"2026-01-01T12:00:00Z","principal":"token 3fa2 (portal)","role":"subscriber","actor":"subscriber alice","via":"api","op":"list.add","object":"list/subscriber/alice/blocked","subscriber":"alice","before":{"count":0},"after":{"count":1,"added":["+13125550100"]}}]}),tag="audit"))
# The toll-fraud monitor (admin/fraud.go): one operation for each `callgate fraud` command, with its --json answer.
money={"type":"string","pattern":r"^-?[0-9]+\.[0-9]{2,6}$","description":"an amount in the account currency (exact decimal)","example":"12.50"}
ts={"type":"string","format":"date-time"}
comp["FraudThresholds"]={"type":"object","required":["alert","lockdown"],"properties":{"alert":money,"lockdown":money}}
comp["FraudLock"]={"type":"object","required":["group","since"],"properties":{"group":{"type":"string"},"name":{"type":"string"},"since":ts,"day":{"type":"string","format":"date"},
   "spend":money,"threshold":money,"audit":{"type":"integer","description":"the lockdown's fraud audit record"}}}
comp["FraudGroupStatus"]={"type":"object","required":["group","name","day","spend","thresholds","locked"],"properties":{
   "group":{"type":"string","description":"the group's key: s12 (a subscriber), e3 (an enterprise)","example":"s12"},"name":{"type":"string","example":"subscriber dave"},
   "provider":{"type":"string","description":"the tenant's provider (absent: an enterprise under the platform)"},"time_zone":{"type":"string"},"day":{"type":"string","format":"date","description":"the group's local date"},
   "currency":{"type":"string"},"spend":money,"completed":money,"in_progress":money,"baseline":money,"thresholds":ref("FraudThresholds"),
   "factor":{"type":"integer","description":"today's threshold multiplier: 1, doubled at each lockdown"},"alerted":{"type":"boolean"},"lockdowns":{"type":"integer"},
   "locked":{"type":"boolean"},"lock":ref("FraudLock"),"evaluated":ts}}
comp["FraudOverview"]={"type":"object","required":["rates_version","rates_rows","groups","locked","status"],"properties":{
   "rates_version":{"type":"integer","description":"the rate table in force (0: none imported)"},"rates_rows":{"type":"integer"},
   "groups":{"type":"integer","description":"the caller's groups with spend today or a lock"},"locked":{"type":"integer"},
   "status":{"type":"array","items":ref("FraudGroupStatus"),"description":"locked first, then by spend as a share of the lockdown threshold"}}}
comp["FraudEvent"]={"type":"object","required":["seq","time","kind"],"properties":{"seq":{"type":"integer"},"time":ts,"kind":{"type":"string","enum":["alert","lockdown","unlock","rates"]},
   "group":{"type":"string"},"name":{"type":"string"},"day":{"type":"string","format":"date"},"currency":{"type":"string"},"spend":money,"baseline":money,
   "thresholds":ref("FraudThresholds"),"factor":{"type":"integer"},"already_locked":{"type":"boolean"},
   "actor":{"type":"string","description":"who: principal, role and path (token 3fa2 (noc) as provider acme via api)"},"reason":{"type":"string"},"detail":{"type":"string"}}}
comp["FraudHistory"]={"type":"object","required":["status","days","events"],"properties":{"status":ref("FraudGroupStatus"),
   "days":{"type":"array","description":"newest first, the days the baseline is learned from","items":{"type":"object","required":["day","spend"],"properties":{"day":{"type":"string","format":"date"},"spend":money,"lockdowns":{"type":"integer","description":"a day with a lockdown is left out of the baseline"}}}},
   "events":{"type":"array","items":ref("FraudEvent"),"description":"the group's fraud audit records, newest first"}}}
comp["FraudUnlock"]={"type":"object","required":["reason"],"additionalProperties":False,"properties":{"reason":{"type":"string","minLength":10,"maxLength":1000,"description":"what was checked and why normal service is safe again (stored in the fraud audit log)"}}}
comp["RateVersion"]={"type":"object","required":["version","imported","rows","sha256"],"properties":{"version":{"type":"integer","description":"0 in a dry run's answer"},"imported":ts,
   "source":{"type":"string"},"by":{"type":"string"},"rows":{"type":"integer"},"sha256":{"type":"string"},"chunks":{"type":"integer"}}}
comp["RateVersionPage"]=pagef("RateVersion")
comp["CDRsApplied"]={"type":"object","required":["applied"],"properties":{"applied":{"type":"integer"}}}
gp=P("group","subscriber:NAME, enterprise:NAME, a subscriber or enterprise name, a line's number, or a key from status (s12)")
fst_ex={"group":"s12","name":"subscriber dave","provider":"acme","time_zone":"America/Chicago","day":"2026-03-02","currency":"USD","spend":"12.00","completed":"12.00","in_progress":"0.00","baseline":"0.00",
   "thresholds":{"alert":"20.00","lockdown":"22.00"},"factor":2,"alerted":False,"lockdowns":1,"locked":True,
   "lock":{"group":"s12","name":"subscriber dave","since":"2026-03-02T15:05:00Z","day":"2026-03-02","spend":"12.00","threshold":"11.00","audit":3},"evaluated":"2026-03-02T15:05:00Z"}
unlock_ex={"seq":4,"time":"2026-03-02T16:00:00Z","kind":"unlock","group":"s12","name":"subscriber dave","day":"2026-03-02","currency":"USD","spend":"12.00","baseline":"0.00",
   "thresholds":{"alert":"20.00","lockdown":"22.00"},"factor":2,"actor":"token 3fa2 (noc) as provider acme via api","reason":"PBX password changed; customer confirmed the calls (ticket 4411)","detail":"locked since 2026-03-02T15:05:00Z (audit #3)"}
rate_ex={"version":2,"imported":"2026-03-02T08:00:00Z","source":"rates.csv","by":"token 3fa2 (noc) as operator via api","rows":6,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","chunks":1}
add("GET","/api/v1/fraud/groups",op("`callgate fraud status`: the caller's groups with spend today or a lock, locked first, then nearest their lockdown threshold (platform owner: every group; a provider: its subscribers' and enterprises')",
  [Q("top","groups listed (default 20, 0: all)","integer")],resp=ok("FraudOverview",{"rates_version":2,"rates_rows":6,"groups":1,"locked":1,"status":[fst_ex]}),codes=(400,401,403),tag="fraud"))
add("GET","/api/v1/fraud/groups/{group}",op("`callgate fraud status GROUP`: one group's spend today against its thresholds",[gp],resp=ok("FraudGroupStatus",fst_ex),codes=(401,403,404),tag="fraud"))
add("GET","/api/v1/fraud/groups/{group}/history",op("`callgate fraud history GROUP`: the group's daily spend over the history its thresholds are learned from, and its fraud audit records",
  [gp,Q("events","audit records listed, newest first (default 20, 0: all)","integer")],resp=ok("FraudHistory"),codes=(400,401,403,404),tag="fraud"))
add("POST","/api/v1/fraud/groups/{group}/unlock",op("`callgate fraud unlock GROUP --reason`: restore a locked group's international and premium calls; the reason and the caller are stored in the fraud audit log in the same write as the unlock",
  [gp],req=body("FraudUnlock",{"reason":"PBX password changed; customer confirmed the calls (ticket 4411)"}),resp=ok("FraudEvent",unlock_ex),codes=(400,401,403,404,409,422),tag="fraud"))
add("POST","/api/v1/fraud/rates",op("`callgate fraud rates import`: a CSV rate table (prefix,category,price_per_minute[,description]) as the next version, all or nothing: any bad row and nothing changes, every bad row named in errors (platform owner)",
  [Q("dry_run","true: check every row only, write nothing (200)"),Q("source","the file's name, for the version list and the audit log")],
  req={"required":True,"content":{"text/csv":{"schema":{"type":"string"},"example":"prefix,category,price_per_minute,description\n1,domestic,0.01,US and Canada\n1900,premium,3.00,NANP premium\n"}}},
  resp={**ok("RateVersion",rate_ex,"201"),**ok("RateVersion",{**rate_ex,"version":0})},codes=(401,403,404,422),tag="fraud"))
add("GET","/api/v1/fraud/rates",op("`callgate fraud rates versions`: every rate table version imported, oldest first (platform owner)",resp=ok("RateVersionPage",{"items":[rate_ex]}),codes=(401,403,404),tag="fraud"))
add("POST","/api/v1/fraud/cdrs",op("The CDR feed: a batch of ended calls, all or nothing (platform owner; the same as POST /fraud/cdrs on the admin listener). 503: applied in memory but not yet stored, do not resend",
  req={"required":True,"content":{"text/csv":{"schema":{"type":"string"},"example":"+13125550103,+19005550100,2026-03-02T14:00:00Z,240\n"},
       "application/json":{"schema":{"type":"array","items":{"type":"object","required":["calling","called","start","duration"],"properties":{"calling":num,"called":num,"start":ts,"duration":{"type":"integer","description":"billable seconds"}}}},
         "example":[{"calling":"+13125550103","called":"+19005550100","start":"2026-03-02T14:00:00Z","duration":240}]}}},
  resp=ok("CDRsApplied",{"applied":1}),codes=(401,403,404,413,415,422),tag="fraud"))
problem_more=lambda code,d: {str(code):{"description":d,"content":{"application/problem+json":{"schema":ref("Problem")}}}}
for m_,p_ in [("post","/api/v1/fraud/groups/{group}/unlock"),("post","/api/v1/fraud/rates"),("post","/api/v1/fraud/cdrs")]:
    paths[p_][m_]["responses"].update(problem_more(503,"not stored (the store is unavailable): nothing changed, except for CDRs, which are applied in memory and retried"))
paths["/api/v1/fraud/cdrs"]["post"]["responses"].update({**problem_more(413,"batch too large: split it"),**problem_more(415,"Content-Type neither text/csv nor application/json")})
fraud_off="the daemon runs no fraud monitor (fraud.enabled is off): field path"
for m_,p_ in [("get","/api/v1/fraud/groups"),("post","/api/v1/fraud/rates"),("get","/api/v1/fraud/rates"),("post","/api/v1/fraud/cdrs")]:
    paths[p_][m_]["responses"].update(problem_more(404,fraud_off))
for m_,p_ in [("get","/api/v1/fraud/groups/{group}"),("get","/api/v1/fraud/groups/{group}/history"),("post","/api/v1/fraud/groups/{group}/unlock")]:
    paths[p_][m_]["responses"].update(problem_more(404,"no such group, or not visible to this role (field group); or "+fraud_off))
# --- the CLI's needs (branch cliapi): ids, the full decision record, bulk list removal, export,
# import reports, treatment, STIR policy, enterprise signals. Kept in one block to ease merging.
for n in ["Provider","Subscriber","Enterprise"]: comp[n]["properties"]["id"]={"type":"integer","description":"internal id (the decision log's subscriber=)"}
comp["TokenCreate"]["properties"]["ttl_seconds"]={"type":"integer","minimum":1,"maximum":8784*3600,"description":"lifetime in seconds, instead of ttl_hours"}
comp["TreatmentStep"]={"type":"object","required":["time","step","outcome"],"properties":{"time":{"type":"string","format":"date-time"},"step":{"type":"string","example":"pin"},"outcome":{"type":"string","example":"wrong"},"detail":{"type":"string","example":"try 2 of 3"}}}
comp["Decision"]["properties"].update({"direction":{"type":"string","enum":["terminating","originating"]},"stir_reason":{"type":"string","description":"the STIR/SHAKEN verifier's reason code"},
  "reputation":{"type":"string"},"key_match":{"type":"string"},"fraud_locked":{"type":"boolean"},"reputation_lookup":{"type":"object","properties":{"why":{"type":"string"},"cache":{"type":"string"},"latency_ns":{"type":"integer"}}},
  "brand":{"type":"string"},"latency_ns":{"type":"integer","description":"time spent deciding, exactly"},
  "steps":{"type":"array","items":ref("TreatmentStep"),"description":"what the B2BUA did with the call (PIN, name, ringing, the subscriber's choice)"}})
rowerrs={"type":"array","items":{"type":"object","properties":{"line":{"type":"integer"},"error":{"type":"string"}}}}
comp["ImportReport"]["properties"].update({"errors":rowerrs,"refused":{"type":"boolean","description":"a replace with bad rows: nothing changed"}})
comp["SubscriberImportReport"]["properties"]["errors"]=rowerrs
eff={"type":"object","properties":{"unknown":treat,"anonymous":treat,"reject_with_media":{"type":"boolean"},"has_pin":{"type":"boolean"},"voicemail":{"type":"string"},"announcement":{"type":"integer"}}}
src={"type":"string","enum":["platform-default","provider-default","subscriber","provider"],"description":"where the value in effect comes from: the platform's default, the provider's default, the subscriber's own choice (it holds the permission), or the value its provider or the platform owner set for it"}
srcs={"type":"object","properties":{k:src for k in ["unknown","anonymous","reject_with_media","voicemail","announcement"]}}
comp["Treatment"]={"type":"object","required":["subscriber","own","effective","permissions"],"properties":{"subscriber":name,"own":ref("Settings"),"set_by_provider":setby,"effective":eff,"sources":srcs,"permissions":perm}}
action={"type":"string","enum":["allow","screen","block","reject"]}
stirpol={"type":"object","properties":{"on_c":action,"on_failed":action,"tag":{"type":"boolean"},"verified_tag":{"type":"string"},"unknown_tag":{"type":"string"}}}
comp["Stir"]={"type":"object","required":["provider","stir"],"properties":{"provider":name,"stir":stirpol}}
comp["StirPatch"]={**stirpol,"additionalProperties":False}
brand={"type":"object","properties":{"name":{"type":"string","maxLength":64},"logo_url":{"type":"string"},"reason":{"type":"string"}}}
comp["Signals"]={"type":"object","required":["name","brand","has_token"],"properties":{"name":name,"brand":brand,"has_token":{"type":"boolean"},"trunk":{"type":"string"},"onward":{"type":"string"},
  "token":{"type":"string","description":"the new token: in the answer to POST .../token only, never again"},
  "revoked_keys":{"type":"integer","description":"in the answer to POST .../token?revoke_keys=true: the call keys revoked"},
  "revoke_error":{"type":"string","description":"why revoke_keys failed (the token is issued: retry with DELETE /api/v1/enterprises/{enterprise}/keys)"}}}
comp["SignalsPatch"]={"type":"object","additionalProperties":False,"properties":{"brand":{**brand,"additionalProperties":False},"trunk":{"type":"string","description":"address or prefix of the enterprise's INVITEs for SIP enrolment; empty: off"},"onward":{"type":"string"}}}
def param(path, method, *ps): paths[path][method]["parameters"]=paths[path][method].get("parameters",[])+list(ps)
comp["DecideRequest"]["properties"].update({"key":{"type":"string","enum":["not-checked","matched","missing"],"description":"the call-key check's answer, given by hand (what-if)"},
  "reputation":{"type":"string","enum":["unknown","exempt","low","medium","high"],"description":"the caller's spam-risk band, given by hand (what-if)"}})
param("/api/v1/lists/{owner}/{list}","get",Q("after","start after this number (any form), instead of a cursor"))
report=Q("report","true: answer 200 with the report even when rows are bad (lists: the good rows of a merge are written, as `callgate import` does; a replace with bad rows writes nothing)"); maxerr=Q("max_errors","bad rows listed in the report (all are counted); default 1000","integer")
param("/api/v1/lists/import","post",report,Q("dry_run","true: validate only"),maxerr)
param("/api/v1/subscribers:import","post",report,maxerr)
sig_ex={"name":"initech","brand":{"name":"Initech","reason":"Your order"},"has_token":True}
add("GET","/api/v1/providers/{provider}/stir",op("A provider's STIR/SHAKEN policy for calls to its subscribers",[pp],resp=ok("Stir",{"provider":"acme","stir":{"on_c":"screen","on_failed":"reject","tag":True}},etag=True),tag="providers"))
add("PATCH","/api/v1/providers/{provider}/stir",op("Change members of the STIR/SHAKEN policy, keeping the rest (platform owner); refused with 412 if the provider changed since If-Match or since read",[pp,ifmo],req=body("StirPatch",{"on_c":"screen","tag":True}),resp=ok("Stir",{"provider":"acme","stir":{"on_c":"screen","tag":True}},etag=True),codes=std+(412,),tag="providers"))
add("GET","/api/v1/subscribers/{subscriber}/treatment",op("A subscriber's own treatment settings, the effective ones (own if its provider or the platform owner set it, or the subscriber did and holds the permission; else its provider's default, else the platform's), where each comes from, and what it may change; change them with PATCH /api/v1/subscribers/{subscriber}",[sp],
  resp=ok("Treatment",{"subscriber":"alice","own":{"anonymous":"block"},"set_by_provider":"none","effective":{"unknown":"screen","anonymous":"block","reject_with_media":False,"has_pin":True},
   "sources":{"unknown":"platform-default","anonymous":"subscriber","reject_with_media":"platform-default","voicemail":"platform-default","announcement":"platform-default"},"permissions":"all"},etag=True),tag="subscribers"))
add("POST","/api/v1/lists/{owner}/{list}/remove",op("Remove numbers from a list, all or none, in one write",[op_,lp,ifmo],req=body("Numbers",{"numbers":["+13125550100","+13125550101"]}),resp=ok("ListChange",{"changed":2,"revision":54}),codes=std+(412,),tag="lists"))
add("POST","/api/v1/subscribers/{subscriber}/numbers/remove",op("Unassign numbers, all or none, in one write",[sp],req=body("Numbers",{"numbers":["+12025550101","+12025550102"]}),resp=ok("Subscriber",sub_ex),tag="subscribers"))
add("GET","/api/v1/lists/export",op("Export list rows as CSV (owner,list,number,note: what POST /api/v1/lists/import reads back) from one snapshot; a provider or subscriber names an owner it may read. The trailers Callgate-Rows and Callgate-Error say how many rows were written and what cut the export short",
  [Q("owner","subscriber name or number, or provider:NAME (required but for the platform owner)"),Q("list","vip or blocked (default: both)")],
  resp={"200":{"description":"CSV rows","content":{"text/csv":{"schema":{"type":"string"},"example":"owner,list,number,note\n+12025550100,blocked,+13125550100,sales\n"}}}},tag="lists"))
add("GET","/api/v1/enterprises/{enterprise}/signals",op("An enterprise's spoof-protection settings: brand, whether it has an API token, SIP enrolment",[ep],resp=ok("Signals",sig_ex,etag=True),tag="enterprises"))
add("PATCH","/api/v1/enterprises/{enterprise}/signals",op("Change the brand or SIP enrolment, keeping the rest (an empty string clears)",[ep,ifmo],req=body("SignalsPatch",{"brand":{"name":"Initech","reason":"Your order"}}),resp=ok("Signals",sig_ex),codes=std+(412,),tag="enterprises"))
add("POST","/api/v1/enterprises/{enterprise}/token",op("Issue the enterprise's API token for /api/v1/keys, revoking the previous one (shown in this answer only). With revoke_keys=true every call key of the enterprise is revoked too, after the new token is in place: for a token that leaked (a thief's keys cannot be told from the enterprise's own); not the default, so a routine reissue does not block the calls the enterprise just registered",
  [ep,Q("revoke_keys","true: also revoke every call key of the enterprise (answered in revoked_keys; a failure in revoke_error, the token issued all the same). 404 naming revoke_keys: keys.enabled is off","boolean")],
  resp=ok("Signals",{**sig_ex,"token":"initech.c2VjcmV0","revoked_keys":3},"201"),tag="enterprises"))
# PIN lockouts (admin/pinlock.go, store/pinlock.go): `callgate pin lockouts|lockout|unlock`.
comp["PINLockout"]={"type":"object","required":["subscriber_id","subscriber","locked","failures","lockouts","revision"],"properties":{
   "subscriber_id":{"type":"integer"},"subscriber":name,"provider":name,
   "locked":{"type":"boolean","description":"no PIN keyed for the subscriber is checked until locked_until"},
   "locked_at":ts,"locked_until":{**ts,"description":"the last lock's end (in the past: it has expired)"},
   "failures":{"type":"integer","description":"wrong PINs counted towards the next lock (within the window, since the last lock)"},
   "last_failure":ts,"last_prompt":{"type":"string","enum":["ivr","override"]},"last_calling":{**num,"description":"the calling number of the newest wrong PIN, when it was presented"},
   "lockouts":{"type":"integer","description":"locks since a right PIN or an operator last cleared the record"},"revision":{"type":"integer","description":"0: no record"}}}
comp["PINLockoutPage"]=pagef("PINLockout")
lock_ex={"subscriber_id":12,"subscriber":"alice","provider":"acme","locked":True,"locked_at":"2026-03-02T15:05:00Z","locked_until":"2026-03-02T15:20:00Z","failures":0,
   "last_failure":"2026-03-02T15:05:00Z","last_prompt":"override","last_calling":"+13125550100","lockouts":1,"revision":812}
add("GET","/api/v1/pin-lockouts",op("`callgate pin lockouts`: the subscribers the caller may see with a PIN lock (current or expired) or wrong PINs counted (platform owner: all; a provider: its subscribers'; a subscriber: its own), by name",
  resp=ok("PINLockoutPage",{"items":[lock_ex],"total":1}),codes=(401,403),tag="subscribers"))
add("GET","/api/v1/subscribers/{subscriber}/pin/lockout",op("`callgate pin lockout SUBSCRIBER`: the subscriber's PIN lockout: wrong PINs keyed at the B2BUA's PIN prompts are counted across calls, and b2bua.pin_lock_failures of them within b2bua.pin_lock_window lock the PIN for b2bua.pin_lock_period (the platform owner, its provider, the subscriber itself)",
  [sp],resp=ok("PINLockout",lock_ex),tag="subscribers"))
add("DELETE","/api/v1/subscribers/{subscriber}/pin/lockout",op("`callgate pin unlock SUBSCRIBER`: lift the PIN lock and clear the count (platform owner or the subscriber's provider; audited as subscriber.pin.unlock); answers the lockout as it was. Nothing to clear is no error",
  [sp],resp=ok("PINLockout",lock_ex),tag="subscribers"))
# The enterprises' call-key registration (package keys, admin/keys.go): their own token, not a management one.
comp["KeyRequest"]={"type":"object","required":["calling","called"],"additionalProperties":False,"properties":{"calling":{"type":"string","description":"the enterprise's enrolled number placing the call"},
   "called":{"type":"string","description":"the number it calls"},"not_before":{**ts,"description":"default now"},"not_after":{**ts,"description":"default not_before + keys.default_window"}}}
comp["Key"]={"type":"object","required":["calling","called","not_before","not_after","single_use"],"properties":{"calling":num,"called":num,"not_before":ts,"not_after":ts,"single_use":{"type":"boolean"}}}
add("POST","/api/v1/keys",op("An enterprise registers the call key of a call it is about to place (spoof protection; the same as POST /api/v1/keys on the admin listener). Authenticate with the enterprise's API token (`callgate enterprise token`), not a management token. 201 once the key is on disk (and, with keys.replicate, in the cluster); registering the same key again is one key. 404: keys.enabled is off. 503 (Retry-After): the key table is full or the key could not be saved, retry",
  req=body("KeyRequest",{"calling":"+12025550150","called":"+13035550100"}),resp=ok("Key",{"calling":"+12025550150","called":"+13035550100","not_before":"2026-03-01T12:00:00Z","not_after":"2026-03-01T12:01:00Z","single_use":False},"201"),codes=(400,401,403,404),tag="keys"))
paths["/api/v1/keys"]["post"]["security"]=[{"enterprise":[]}]
paths["/api/v1/keys"]["post"]["responses"].update({**problem_more(409,"this key (numbers and window) was revoked: register another window (field not_before)"),**problem_more(413,"body over 4 KiB: one key per request"),**problem_more(503,"the key table is full (keys.max_keys) or the key could not be saved: retry after Retry-After")})
comp["KeysRevoked"]={"type":"object","required":["revoked"],"properties":{"revoked":{"type":"integer","description":"keys revoked (that could still match)"}}}
revoke503=problem_more(503,"revoked here, but not saved or not replicated to every node: retry after Retry-After (revoking again is safe)")
add("DELETE","/api/v1/keys",op("An enterprise revokes all of its call keys (those that could still match): they match no call from now on, on every node. Authenticate with the enterprise's API token. Recorded in the audit log (op keys.revoke, object enterprise/{enterprise}/keys, role enterprise, after: how many). 404: keys.enabled is off",
  resp=ok("KeysRevoked",{"revoked":12}),codes=(401,404),tag="keys"))
add("DELETE","/api/v1/keys/{calling}/{called}",op("An enterprise revokes its call keys of one pair of numbers (every window). Authenticate with the enterprise's API token. Recorded in the audit log (op keys.revoke, object enterprise/{enterprise}/keys/{calling}/{called}). 404 (field path): it has no such key that could still match, or keys.enabled is off",
  [P("calling","the enterprise's calling number, E.164 ('+' optional for NANP)"),P("called","the called number")],resp=ok("KeysRevoked",{"revoked":1}),codes=(400,401,404),tag="keys"))
for p_ in ["/api/v1/keys","/api/v1/keys/{calling}/{called}"]:
    paths[p_]["delete"]["security"]=[{"enterprise":[]}]
    paths[p_]["delete"]["responses"].update(revoke503)
comp["EnterpriseKeysRevoked"]={"type":"object","required":["enterprise","revoked"],"properties":{"enterprise":name,"revoked":{"type":"integer"}}}
add("DELETE","/api/v1/enterprises/{enterprise}/keys",op("`callgate enterprise revoke-keys`: revoke every call key of the enterprise (platform owner or the enterprise's provider), e.g. after its token leaked (or reissue the token with revoke_keys=true). Recorded in the audit log: op keys.revoke, object enterprise/{enterprise}/keys, who and by which path, after: how many revoked (with the token's reissue, reason: token reissued). 404 (field path): keys.enabled is off",
  [ep],resp=ok("EnterpriseKeysRevoked",{"enterprise":"initech","revoked":12}),codes=(401,403,404),tag="enterprises"))
paths["/api/v1/enterprises/{enterprise}/keys"]["delete"]["responses"].update(revoke503)
add("GET","/api/v1/openapi.json",{"summary":"This document (no authentication)","security":[],"responses":{"200":{"description":"OK","content":{"application/json":{"schema":{"type":"object"}}}}}})
doc={"openapi":"3.0.3","info":{"title":"callgate admin API","version":"1","description":"Management for the platform owner, service providers and subscribers. Authenticate with Authorization: Bearer cgt_... (an API token). On the daemon's unix socket (api.socket, mode 0600: the CLI's way in) no token is sent: the connecting user acts as the platform owner, named cli:USER in the audit log. Errors are RFC 9457 problem+json naming the field at fault; 503 with Retry-After when the store cannot write now (with store.backend etcd: no quorum), nothing was written and a retry is safe. Changes to one object take If-Match with its ETag."},
 "servers":[{"url":"/"}],"security":[{"token":[]}],"paths":paths,"components":{"schemas":comp,"securitySchemes":{"token":{"type":"http","scheme":"bearer","description":"cgt_<id>_<secret>"},"enterprise":{"type":"http","scheme":"bearer","description":"an enterprise's API token ENTERPRISE.SECRET (/api/v1/keys only)"}}}}
print(json.dumps(doc,indent=2))
