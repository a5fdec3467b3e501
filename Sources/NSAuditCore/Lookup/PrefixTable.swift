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
    public convenience init(_ items: [(key: Key, length: UInt8, item: Int32)]) {
        self.init(items, directIndex: true)
    }

    /// `directIndex`: false for a table whose /24 index is kept elsewhere (OutputBlockIndex4).
    init(_ items: [(key: Key, length: UInt8, item: Int32)], directIndex: Bool) {
        var entries: [Entry] = [], payload: [Int32] = []
        let n = items.count
        var order: [Int]
        // Items whose values rise with their position (route indexes in insertion order) and
        // fit 24 bits: the value itself stands for the position in the packed sort key.
        var itemsRise = Key.bitWidth <= 32 && n < (1 << 24)
        if itemsRise {
            items.withUnsafeBufferPointer { ip in
                var last: Int32 = -1
                for i in 0..<n {
                    let v = ip[i].item
                    if v <= last || v >= (1 << 24) { itemsRise = false; break }
                    last = v
                }
            }
        }
        if itemsRise {
            // (address, length, item) packed: a plain integer sort, then a sequential pass
            var packed = [UInt64](repeating: 0, count: n)
            items.withUnsafeBufferPointer { ip in
                packed.withUnsafeMutableBufferPointer { pk in
                    for i in 0..<n {
                        pk[i] = (UInt64(ip[i].key) << 32) | (UInt64(ip[i].length) << 24) | UInt64(ip[i].item)
                    }
                }
            }
            // the items (low 24 bits) rise already
            radixSort(&packed, sortedLowBits: 24)
            entries.reserveCapacity(n)
            payload.reserveCapacity(n)
            packed.withUnsafeBufferPointer { pk in
                var i = 0
                while i < n {
                    let head = pk[i] >> 24
                    let s = Int32(payload.count)
                    var j = i
                    while j < n && pk[j] >> 24 == head { payload.append(Int32(pk[j] & 0xff_ffff)); j += 1 }
                    entries.append(Entry(key: Key(truncatingIfNeeded: head >> 8), length: UInt8(truncatingIfNeeded: head),
                                         parent: -1, start: s, count: Int32(j - i), first: Int32(pk[i] & 0xff_ffff)))
                    i = j
                }
            }
            order = []
        } else if Key.bitWidth <= 32 && n < (1 << 24) {
            // Packed sort keys (address, length, position): a plain integer sort.
            var packed = [UInt64](repeating: 0, count: n)
            items.withUnsafeBufferPointer { ip in
                for i in 0..<n {
                    packed[i] = (UInt64(ip[i].key) << 32) | (UInt64(ip[i].length) << 24) | UInt64(i)
                }
            }
            radixSort(&packed)
            order = packed.map { Int($0 & 0xff_ffff) }
        } else {
            // (key, length and position packed): no indirection through `items` while sorting
            var keyed = [(Key, UInt64)]()
            keyed.reserveCapacity(n)
            items.withUnsafeBufferPointer { ip in
                for i in 0..<n { keyed.append((ip[i].key, UInt64(ip[i].length) << 32 | UInt64(i))) }
            }
            keyed.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            order = keyed.map { Int($0.1 & 0xffff_ffff) }
        }
        entries.reserveCapacity(n)
        payload.reserveCapacity(n)
        var i = itemsRise ? n : 0
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
        dir24 = directIndex && Key.bitWidth == 32 && entries.count >= PrefixTable.dirThreshold ? PrefixTable.buildDir24(st, va) : []
    }

    private static func buildDir24(_ starts: [Key], _ values: [Int32]) -> [Int32] {
        let blocks = 1 << 24
        return [Int32](unsafeUninitializedCapacity: blocks) { buf, n in
            starts.withUnsafeBufferPointer { st in values.withUnsafeBufferPointer { va in
                let count = st.count
                // every block whose first address lies in interval k: that interval's entry
                // (the intervals partition the address space, so every block is written)
                for k in 0..<count {
                    let s = UInt64(st[k]), e = k + 1 < count ? UInt64(st[k + 1]) - 1 : 0xffff_ffff
                    let lo = Int((s + 255) >> 8), hi = Int(e >> 8)
                    if lo <= hi { UnsafeMutableBufferPointer(rebasing: buf[lo...hi]).initialize(repeating: va[k]) }
                }
                // a block in which an interval starts (after the block's first address) is
                // split: it refers to the interval holding its first address
                for k in 1..<max(count, 1) {
                    let s = UInt64(st[k])
                    guard s & 0xff != 0 else { continue }
                    let blockStart = s & ~0xff
                    var j = k - 1
                    while UInt64(st[j]) > blockStart { j -= 1 }
                    buf[Int(s >> 8)] = Int32(-2 - j)
                }
            } }
            n = blocks
        }
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

    /// The address intervals in order, covering every address: `body(first, last, entry)`,
    /// `entry` being the most specific prefix entry containing them (-1: none).
    func forEachInterval(_ body: (_ first: Key, _ last: Key, _ entry: Int32) -> Void) {
        intervals.withUnsafeBufferPointer { iv in
            for k in 0..<iv.count {
                body(iv[k].start, k + 1 < iv.count ? iv[k + 1].start - 1 : Key.max, iv[k].value)
            }
        }
    }

    /// The storage of the lookup arrays, for a caller that wants to advise the kernel about
    /// them (huge pages); the core itself makes no system calls.
    public func withStorage(_ body: (UnsafeRawBufferPointer) -> Void) {
        intervals.withUnsafeBytes(body); entries.withUnsafeBytes(body)
        payload.withUnsafeBytes(body); bucket.withUnsafeBytes(body); dir24.withUnsafeBytes(body)
    }
}

/// Sorts 64-bit integers: least significant digit first, 16 bits at a time, skipping digits
/// in which all values agree (a few linear passes instead of a comparison sort). With
/// `sortedLowBits`, values already in order of their low bits among equal high bits (a
/// position that rises) are sorted on the high bits alone: the passes keep that order.
func radixSort(_ a: inout [UInt64], sortedLowBits: Int = 0) {
    let n = a.count
    if n < 256 { a.sort(); return }
    var tmp = [UInt64](repeating: 0, count: n)
    var or: UInt64 = 0, and: UInt64 = ~0
    for v in a { or |= v; and &= v }
    let varying = (or ^ and) & ~((UInt64(1) << UInt64(sortedLowBits)) &- 1)
    var count = [Int](repeating: 0, count: 1 << 16)
    var inA = true
    for shift in stride(from: sortedLowBits, to: 64, by: 16) where (varying >> UInt64(shift)) & 0xffff != 0 {
        a.withUnsafeMutableBufferPointer { ap in tmp.withUnsafeMutableBufferPointer { tp in
            count.withUnsafeMutableBufferPointer { c in
                let src = inA ? ap : tp, dst = inA ? tp : ap
                for i in 0..<c.count { c[i] = 0 }
                for v in src { c[Int((v >> UInt64(shift)) & 0xffff)] += 1 }
                var sum = 0
                for i in 0..<c.count { let x = c[i]; c[i] = sum; sum += x }
                for v in src {
                    let d = Int((v >> UInt64(shift)) & 0xffff)
                    dst[c[d]] = v; c[d] += 1
                }
            }
        } }
        inA.toggle()
    }
    if !inA { a = tmp }
}
