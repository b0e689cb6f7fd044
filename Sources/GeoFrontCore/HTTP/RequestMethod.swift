/// What the proxy needs to know of a request method, read from its bytes.
public enum RequestMethod {
    /// RFC 9110 §9.2.2: a method whose request may be repeated.
    public static func isIdempotent(_ method: UnsafeRawBufferPointer) -> Bool {
        switch method.count {
        case 3: return method.elementsEqual("GET".utf8) || method.elementsEqual("PUT".utf8)
        case 4: return method.elementsEqual("HEAD".utf8)
        case 5: return method.elementsEqual("TRACE".utf8)
        case 6: return method.elementsEqual("DELETE".utf8)
        case 7: return method.elementsEqual("OPTIONS".utf8)
        default: return false
        }
    }

    /// `HEAD`: its response never has a body.
    public static func isHEAD(_ method: UnsafeRawBufferPointer) -> Bool {
        method.elementsEqual("HEAD".utf8)
    }
}
