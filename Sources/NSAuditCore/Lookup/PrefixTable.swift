/// Longest-prefix-match structure for one routing table of one family.
///
/// Prefixes are flattened into sorted, disjoint address intervals, each mapped to the most
/// specific prefix covering it; a top-16-bit index narrows the binary search. Every prefix
/// entry links to its covering (shorter) prefix so the kernel's backtracking (fib_trie falls
/// back to less specific prefixes when no alias matches) is a walk up `parent` links.
public final class PrefixTable<Key: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    public struct Entry: Sendable {
        public var key: Key
        public var length: UInt8
        /// Index of the covering prefix entry, -1 for none.
        public var parent: Int32
        /// Items (route indexes) of this prefix, in insertion order: payload[start ..< start+count].
        public var start: Int32
        public var count: Int32
        /// The first item, so single-route prefixes need no trip to `payload`.
        public var first: Int32
    }
    struct Interval { var start: Key; var value: Int32 }

    public let entries: [Entry]
    public let payload: [Int32]
    private let intervals: [Interval]
    private let bucket: [Int32]
    /// Top bits indexed: about 2 intervals per bucket, at most 21 bits (an 8 MB index), none
    /// for small tables (their intervals stay in cache anyway).
    private let indexBits: Int
    /// Bucket of an address: (address - indexBase) >> indexShift (addresses below indexBase
    /// are in the first interval, those past the last bucket in the last one).
    private let indexBase: Key
    private let indexShift: Int
    /// IPv4 tables of at least `dirThreshold` prefixes: one Int32 per /24 block, the most
    /// specific entry covering the whole block (>= -1), or, for a block split by longer
    /// prefixes, -2 - (the interval containing the block's first address), from which a short
    /// scan finds the address's interval. One memory access for most lookups.
    private let dir24: [Int32]
    public static var dirThreshold: Int { 4096 }

    public var isEmpty: Bool { entries.isEmpty }

    /// `items`: (prefix key masked, prefix length, item). Items of identical prefixes keep
    /// their relative order.
    public init(_ items: [(key: Key, length: UInt8, item: Int32)]) {
        var entries: [Entry] = [], payload: [Int32] = []
        let n = items.count
        var order: [Int]
        if Key.bitWidth <= 32 && n < (1 << 24) {
            // Packed sort keys (address, length, position): a plain integer sort.
            var packed = [UInt64](repeating: 0, count: n)
            items.withUnsafeBufferPointer { ip in
                for i in 0..<n {
                    packed[i] = (UInt64(ip[i].key) << 32) | (UInt64(ip[i].length) << 24) | UInt64(i)
                }
            }
            packed.sort()
            order = packed.map { Int($0 & 0xff_ffff) }
        } else {
            order = Array(0..<n)
            order.sort { a, b in
                let x = items[a], y = items[b]
                if x.key != y.key { return x.key < y.key }
                if x.length != y.length { return x.length < y.length }
                return a < b
            }
        }
        entries.reserveCapacity(n)
        payload.reserveCapacity(n)
        var i = 0
        while i < n {
            let first = items[order[i]]
            let s = Int32(payload.count)
            var j = i
            while j < n, items[order[j]].key == first.key, items[order[j]].length == first.length {
                payload.append(items[order[j]].item); j += 1
            }
            entries.append(Entry(key: first.key, length: first.length, parent: -1, start: s, count: Int32(j - i), first: payload[Int(s)]))
            i = j
        }
        let (st, va, bu, bits, ibase, ishift) = PrefixTable.buildIntervals(&entries)
        var iv: [Interval] = []
        iv.reserveCapacity(st.count)
        for k in 0..<st.count { iv.append(Interval(start: st[k], value: va[k])) }
        self.entries = entries; self.payload = payload; intervals = iv; bucket = bu; indexBits = bits; indexBase = ibase; indexShift = ishift
        dir24 = Key.bitWidth == 32 && entries.count >= PrefixTable.dirThreshold ? PrefixTable.buildDir24(st, va) : []
    }

    private static func buildDir24(_ starts: [Key], _ values: [Int32]) -> [Int32] {
        let blocks = 1 << 24
        let dir = [Int32](unsafeUninitializedCapacity: blocks) { buf, n in
            starts.withUnsafeBufferPointer { st in values.withUnsafeBufferPointer { va in
                let count = st.count
                var k = 0
                // next interval start above the current one (as a 64-bit number: none = 2^32)
                var next: UInt64 = count > 1 ? UInt64(st[1]) : 1 << 32
                for b in 0..<blocks {
                    let bs = UInt64(b) << 8
                    while next <= bs { k += 1; next = k + 1 < count ? UInt64(st[k + 1]) : 1 << 32 }
                    buf[b] = next <= bs | 0xff ? Int32(-2 - k) : va[k]
                }
            } }
            n = blocks
        }
        return dir
    }

    @inline(__always) static func end(_ key: Key, _ length: UInt8) -> Key {
        let w = Key.bitWidth
        if length == 0 { return Key.max }
        if Int(length) >= w { return key }
        return key | (Key.max >> Key(length))
    }

    private static func buildIntervals(_ entries: inout [Entry]) -> ([Key], [Int32], [Int32], Int, Key, Int) {
        var starts: [Key] = [], values: [Int32] = []
        starts.reserveCapacity(entries.count * 2 + 1)
        values.reserveCapacity(entries.count * 2 + 1)
        func emit(_ s: Key, _ v: Int32) {
            if let last = starts.last, last == s { values[values.count - 1] = v; return }
            if let lv = values.last, lv == v { return }
            starts.append(s); values.append(v)
        }
        emit(0, -1)
        var stack: [(idx: Int32, end: Key)] = []
        for e in 0..<entries.count {
            let key = entries[e].key
            while let top = stack.last, key > top.end {
                stack.removeLast()
                if top.end != Key.max { emit(top.end + 1, stack.last?.idx ?? -1) }
            }
            entries[e].parent = stack.last?.idx ?? -1
            emit(key, Int32(e))
            stack.append((Int32(e), PrefixTable.end(key, entries[e].length)))
        }
        while let top = stack.popLast() {
            if top.end != Key.max { emit(top.end + 1, stack.last?.idx ?? -1) }
        }
        var bits = 0
        // about two intervals per bucket for big tables: one miss in the index, one in the
        // intervals, instead of a binary search across several cache lines
        while bits < 21 && (starts.count >> (bits + 1)) > 0 { bits += 1 }
        if starts.count < 64 { bits = 0 }
        let nb = 1 << bits
        var bucket = [Int32](repeating: 0, count: nb + 1)
        var base: Key = 0, shift = 0
        if bits == 0 {
            bucket[1] = Int32(starts.count)
        } else {
            // the index spans the interval starts after the first (which is 0), so that
            // prefixes sharing their top bits (2001:db8::/32) still spread over the buckets
            base = starts[1]
            let span = starts[starts.count - 1] - base
            let spanBits = span == 0 ? 0 : Key.bitWidth - span.leadingZeroBitCount
            shift = max(0, spanBits - bits)
            var k = 1
            for b in 0...nb {
                while k < starts.count && Int((starts[k] - base) >> Key(shift)) < b { k += 1 }
                bucket[b] = Int32(k)
            }
        }
        return (starts, values, bucket, bits, base, shift)
    }

    /// The most specific entry containing `addr`, or -1.
    @inline(__always)
    public func lookup(_ addr: Key) -> Int32 {
        if !dir24.isEmpty {
            let v = dir24.withUnsafeBufferPointer { $0[Int(addr >> 8)] }
            if v >= -1 { return v }
            return intervals.withUnsafeBufferPointer { st in
                var k = Int(-2 - v)
                while k + 1 < st.count && st[k + 1].start <= addr { k += 1 }
                return st[k].value
            }
        }
        var b = 0
        if indexBits != 0 {
            if addr < indexBase { return intervals.withUnsafeBufferPointer { $0[0].value } }
            let rel = (addr - indexBase) >> Key(indexShift)
            let nb = 1 << indexBits
            b = rel >= Key(nb) ? nb - 1 : Int(rel)
        }
        return intervals.withUnsafeBufferPointer { st in
            bucket.withUnsafeBufferPointer { bu in
                var lo = Int(bu[b]), hi = Int(bu[b + 1])
                // last index with start <= addr, searching [lo, hi); fall back to lo-1
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    if st[mid].start <= addr { lo = mid + 1 } else { hi = mid }
                }
                return st[lo - 1].value
            }
        }
    }

    @inline(__always) public func parent(_ e: Int32) -> Int32 { entries[Int(e)].parent }

    /// The storage of the lookup arrays, for a caller that wants to advise the kernel about
    /// them (huge pages); the core itself makes no system calls.
    public func withStorage(_ body: (UnsafeRawBufferPointer) -> Void) {
        intervals.withUnsafeBytes(body); entries.withUnsafeBytes(body)
        payload.withUnsafeBytes(body); bucket.withUnsafeBytes(body); dir24.withUnsafeBytes(body)
    }
}
