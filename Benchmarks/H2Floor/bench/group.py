import re, subprocess, sys, collections
data = sys.argv[1]
out = subprocess.run(["perf","report","-i",data,"--no-children","--sort","dso,sym","--stdio","-g","none","--percent-limit","0"],capture_output=True,text=True).stdout
groups = collections.Counter(); top = collections.defaultdict(list)
def cls(dso, sym):
    s = sym
    if dso.startswith("[kernel") or dso.startswith("[vdso"): return "kernel"
    if re.search(r"\b(malloc|_int_malloc|_int_free|cfree|free|realloc|calloc|malloc_consolidate|tcache\w*|swift_slowAlloc|swift_slowDealloc|swift_allocObject|swift_deallocObject|swift_deallocClassInstance|_swift_release_dealloc|unlink_chunk\w*)\b", s): return "malloc/free (+swift alloc/dealloc)"
    if re.search(r"swift_beginAccess|swift_endAccess|AccessSet|SwiftTLSContext|__tls_get_addr", s): return "Swift exclusivity checks"
    if re.search(r"swift_(retain|release|bridgeObjectRetain|bridgeObjectRelease|isUniquelyReferenced\w*|unknownObject\w*|nonatomic\w*)\b", s): return "Swift retain/release"
    if "NIOSSL" in s or "BoringSSL" in s or "bssl" in s or re.match(r"(ssl|SSL|tls|aes|gcm|EVP|CRYPTO|ERR|BIO|OPENSSL|bn_|ec_|sha|x25519|boringssl)", s): return "NIOSSL/BoringSSL"
    if re.search(r"isValid|Validat|HeaderFieldName|PseudoHeaders|ContentLengthVerifier", s): return "NIOHTTP2 header/content-length validation"
    if "NIOHPACK" in s: return "NIOHPACK (HPACK en/decode, HPACKHeaders)"
    if "NIOHTTP2" in s: return "NIOHTTP2 (state machine, framing, buffers)"
    if "H2Floor" in s and s.startswith("$s7H2Floor"): return "test handler"
    if "NIOCore" in s or "NIOPosix" in s or "CNIOLinux" in s or "NIOConcurrency" in s or "_NIODataStructures" in s: return "NIO core (channel, pipeline, ByteBuffer, selector)"
    if dso.startswith("libswiftCore") or dso.startswith("libswift") : return "Swift stdlib/runtime other (String, Hasher, casts, metadata)"
    if dso.startswith("libc") or dso.startswith("ld-linux"): return "libc other (memcpy/memcmp, syscalls wrappers)"
    if dso == "H2Floor" and not s.startswith("$s"): return "NIOSSL/BoringSSL"
    return "other"
for line in out.splitlines():
    m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$", line)
    if not m: continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
    g = cls(dso, sym); groups[g] += pct; top[g].append((pct, sym[:110]))
for g, p in groups.most_common():
    print(f"{p:6.1f}%  {g}")
    for pct, sym in sorted(top[g], reverse=True)[:4]:
        print(f"          {pct:5.2f}  {sym}")
