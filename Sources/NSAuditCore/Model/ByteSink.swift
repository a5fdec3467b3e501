/// Where nsaudit's byte-level writers put text: a `[UInt8]` (route-get's lines) or a
/// `ByteBuffer` (the snapshot writer's chunked buffer). Every formatter of addresses, prefixes,
/// numbers and JSON writes through these three calls, so one formatter serves both outputs
/// (specialized per output type: no dynamic dispatch on the hot paths).
protocol ByteSink {
    /// Appends one byte.
    mutating func write(_ byte: UInt8)
    /// Appends bytes.
    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>)
    /// Lets `body` write at most `maxCount` (at most 64) bytes in place and keeps the number
    /// it returns.
    mutating func write(atMost maxCount: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int)
    /// Runs `body` with a JSON writer whose output is this sink.
    mutating func withJSONWriter(escaping: JSONEscaping, _ body: (inout JSONWriter<Self>) -> Void)
}

extension ByteSink {
    /// A literal (ASCII), copied as it is.
    @inline(__always) mutating func write(_ s: StaticString) {
        if s.utf8CodeUnitCount == 1 { write(s.utf8Start.pointee) } else { write(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
    }

    /// A string's UTF-8 bytes, as they are (no escaping).
    @inline(__always) mutating func write(utf8 s: String) {
        var s = s
        s.withUTF8 { write($0) }
    }

    /// Decimal digits (and a minus sign).
    @inline(__always) mutating func write<T: BinaryInteger>(decimal v: T) {
        if T.isSigned && v < 0 {
            write(UInt8(ascii: "-"))
            write(decimal: UInt64(v.magnitude))
        } else {
            let u = UInt64(v)
            if u < 10 { write(48 &+ UInt8(truncatingIfNeeded: u)) } else { write(atMost: 20) { Digits.decimal(u, to: $0) } }
        }
    }

    /// Lower-case hexadecimal digits, no prefix.
    @inline(__always) mutating func write(hex v: UInt64) {
        write(atMost: 16) { Digits.hex(v, to: $0) }
    }

    /// The address as `description` gives it.
    @inline(__always) mutating func write(_ a: IPAddress) {
        write(atMost: IPAddress.maxTextLength) { a.writeText(to: $0) }
    }

    /// ADDRESS/LENGTH, as `description` gives it.
    @inline(__always) mutating func write(_ p: IPPrefix) {
        write(atMost: IPPrefix.maxTextLength) { p.writeText(to: $0) }
    }
}

extension Array: ByteSink where Element == UInt8 {
    @inline(__always) mutating func write(_ byte: UInt8) { append(byte) }
    @inline(__always) mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) { append(contentsOf: bytes) }
    /// Written into a buffer on the stack, then appended at once.
    @inline(__always) mutating func write(atMost maxCount: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        precondition(maxCount <= 64)
        var buf: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &buf) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let n = body(p)
            append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        }
    }
    /// The writer borrows the array meanwhile (no copy: it holds the only reference).
    @inline(__always) mutating func withJSONWriter(escaping: JSONEscaping, _ body: (inout JSONWriter<[UInt8]>) -> Void) {
        var w = JSONWriter([UInt8](), escaping: escaping)
        swap(&w.out, &self)
        body(&w)
        swap(&w.out, &self)
    }
}

/// A growing byte buffer, handed to `sink` in chunks (the snapshot writer's output: a million
/// routes stream through it with flat memory) or taken by its owner (route-get --batch's
/// output). Bytes go into one manually managed allocation: no Array bounds or uniqueness
/// checks per write.
final class ByteBuffer: ByteSink {
    typealias Sink = ([UInt8]) throws -> Void
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0
    private let chunkSize: Int
    private let sink: Sink?

    init(chunkSize: Int, sink: @escaping Sink) {
        self.chunkSize = max(chunkSize, 4096)
        self.sink = sink
        capacity = self.chunkSize + 64 * 1024
        base = .allocate(capacity: capacity)
    }

    /// A buffer its owner empties with `take`.
    init(capacity: Int) {
        chunkSize = capacity
        sink = nil
        self.capacity = max(capacity, 4096)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Hands the bytes to the sink once a chunk's worth has gathered.
    @inline(__always) func flushIfFull() throws { if count >= chunkSize { try flush() } }
    func flush() throws {
        if count > 0, let sink { try sink(take()) }
    }

    /// The bytes written since the last `take` (the buffer is empty after).
    func take() -> [UInt8] {
        let chunk = Array(UnsafeBufferPointer(start: base, count: count))
        count = 0
        return chunk
    }

    /// Makes room for `n` more bytes (the buffer grows when one element outgrows it).
    @inline(__always) private func reserve(_ n: Int) {
        if count + n > capacity { grow(n) }
    }
    @inline(never) private func grow(_ n: Int) {
        let newCapacity = max(capacity * 2, count + n + 4096)
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        nb.update(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = newCapacity
    }

    @inline(__always) func write(_ byte: UInt8) { reserve(1); base[count] = byte; count += 1 }
    /// Short runs (member names, separators) are copied with two overlapping loads and
    /// stores rather than a call to memmove.
    @inline(__always) func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        let n = bytes.count
        reserve(n)
        guard let a = bytes.baseAddress else { return }
        let src = UnsafeRawPointer(a), dst = UnsafeMutableRawPointer(base + count)
        if n >= 8 && n <= 16 {
            dst.storeBytes(of: src.loadUnaligned(as: UInt64.self), as: UInt64.self)
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self), toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            dst.storeBytes(of: src.loadUnaligned(as: UInt32.self), as: UInt32.self)
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self), toByteOffset: n - 4, as: UInt32.self)
        } else if n < 4 {
            for i in 0..<n { dst.storeBytes(of: a[i], toByteOffset: i, as: UInt8.self) }
        } else {
            dst.copyMemory(from: src, byteCount: n)
        }
        count += n
    }
    @inline(__always) func write(atMost maxCount: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(maxCount)
        count += body(base + count)
    }
    @inline(__always) func withJSONWriter(escaping: JSONEscaping, _ body: (inout JSONWriter<ByteBuffer>) -> Void) {
        var w = JSONWriter(self, escaping: escaping)
        body(&w)
    }
}

/// Digits written into memory the caller provides; each returns how many it wrote.
enum Digits {
    /// "00" "01" ... "99"
    private static let pairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    static let hexDigits: StaticString = "0123456789abcdef"

    /// Decimal, at most 20 digits.
    @inline(__always) static func decimal(_ v: UInt64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        if v < 10 { p[0] = 48 &+ UInt8(truncatingIfNeeded: v); return 1 }
        var digits = 1
        var t = v
        while t >= 10 { t /= 10; digits += 1 }
        var x = v
        var i = digits
        let pairs = pairs.utf8Start
        while x >= 100 {
            let r = Int(x % 100); x /= 100
            i -= 2
            p[i] = pairs[2 * r]; p[i + 1] = pairs[2 * r + 1]
        }
        if x >= 10 {
            let r = Int(x)
            p[0] = pairs[2 * r]; p[1] = pairs[2 * r + 1]
        } else {
            p[0] = 48 &+ UInt8(truncatingIfNeeded: x)
        }
        return digits
    }

    /// 0...255 without a division loop.
    @inline(__always) static func octet(_ v: UInt32, to p: UnsafeMutablePointer<UInt8>) -> Int {
        if v >= 100 {
            let h = v / 100, r = v - h * 100
            p[0] = 48 &+ UInt8(truncatingIfNeeded: h)
            p[1] = 48 &+ UInt8(truncatingIfNeeded: r / 10); p[2] = 48 &+ UInt8(truncatingIfNeeded: r % 10)
            return 3
        }
        if v >= 10 {
            p[0] = 48 &+ UInt8(truncatingIfNeeded: v / 10); p[1] = 48 &+ UInt8(truncatingIfNeeded: v % 10)
            return 2
        }
        p[0] = 48 &+ UInt8(truncatingIfNeeded: v)
        return 1
    }

    /// Lower-case hexadecimal without leading zeros ("0" for zero), at most 16 digits.
    @inline(__always) static func hex(_ v: UInt64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let n = v == 0 ? 1 : (67 - v.leadingZeroBitCount) / 4
        let h = hexDigits.utf8Start
        var x = v
        for i in stride(from: n - 1, through: 0, by: -1) { p[i] = h[Int(x & 15)]; x >>= 4 }
        return n
    }
}
