# Attribute each sample to the innermost frame that belongs to a library (caller-owned view):
# retain/release, malloc, exclusivity, stdlib String/Hasher leaves are charged to the library that called them.
import re, subprocess, sys, collections
data = sys.argv[1]
out = subprocess.run(["perf","script","-i",data,"-F","ip,sym,dso"],capture_output=True,text=True).stdout
def lib(sym, dso):
    if "kernel" in dso: return "kernel (syscalls, TCP loopback, epoll)"
    if re.search(r"isValid|Validat|HeaderFieldName|PseudoHeaders|ContentLengthVerifier", sym): return "NIOHTTP2 validation"
    if "NIOSSL" in sym or "BoringSSL" in sym or re.match(r"(ssl|SSL|tls|bssl|aes|gcm|EVP|CRYPTO|ERR_|BIO)", sym): return "NIOSSL/BoringSSL"
    if "H2Floor" in dso and not sym.startswith("$s") and not sym.startswith("[") and "CNIOLinux" not in sym and sym not in ("main",): return "NIOSSL/BoringSSL"
    if "NIOHPACK" in sym and "NIOHTTP2" not in sym.split("NIOHPACK")[0]: return "NIOHPACK"
    if "NIOHTTP2" in sym: return "NIOHTTP2 (state machine, framing, buffers)"
    if "NIOHPACK" in sym: return "NIOHPACK"
    if sym.startswith("$s7H2Floor"): return "test handler"
    if re.search(r"NIOCore|NIOPosix|CNIOLinux|_NIODataStructures|NIOConcurrencyHelpers", sym): return "NIO core (channel, pipeline, ByteBuffer, selector)"
    return None
counts = collections.Counter(); total = 0
for block in out.split("\n\n"):
    lines = [l.strip() for l in block.strip().splitlines() if l.strip()]
    if not lines: continue
    total += 1; owner = None
    for l in lines:
        m = re.match(r"([0-9a-f]+)\s+(.*)\s+\((.*)\)$", l)
        if not m: continue
        sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(2)); dso = m.group(3)
        owner = lib(sym, dso)
        if owner: break
    counts[owner or "unattributed (no library frame)"] += 1
for k, v in counts.most_common(): print(f"{100*v/total:6.1f}%  {k}")
print("samples", total)
