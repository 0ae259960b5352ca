import CVectorMath
import DNNL
import Tensors
import TestSupport
import Testing

/// The channels-last loops of `CVectorMath/channels_last.h` (the int8 instance norm's): each instruction set's
/// compilation against the others, bit for bit, and against their formula computed here.
@Suite("Channels-last loops")
struct ChannelsLastLoopTests {
    /// The instruction sets this CPU can run: 4 float lanes (the baseline), 8 (AVX2), 16 (AVX-512).
    static let lanes: [Int32] = [4] + (CPUISA.channelBlock.map { $0 >= 16 ? [8, 16] : [8] } ?? [])

    @Test("per-channel moments: the same sums on every instruction set, as a double sum of the shifted values",
          arguments: [(99, 20), (130, 32), (5, 3)])
    func moments(pixels: Int, channels: Int) {
        var g = SeededGenerator(seed: 43)
        let x = Tensor.normal(shape: [pixels * channels], mean: 3, using: &g).scalars
        let origin = Array(x[0..<channels])
        let results = Self.lanes.map { lanes in
            var (sum, squares) = ([Double](repeating: 0, count: channels), [Double](repeating: 0, count: channels))
            unet_channel_moments(x, pixels, channels, origin, &sum, &squares, lanes)
            return sum + squares
        }
        for result in results.dropFirst() { #expect(result == results[0]) }
        for c in 0..<channels {
            let shifted = (0..<pixels).map { Double(x[$0 * channels + c] - origin[c]) }
            let (sum, squares) = (shifted.reduce(0, +), shifted.map { $0 * $0 }.reduce(0, +))
            #expect(abs(results[0][c] - sum) <= 1e-5 * Double(pixels), "channel \(c): \(results[0][c]) against \(sum)")
            #expect(abs(results[0][channels + c] - squares) <= 1e-5 * squares, "channel \(c): \(results[0][channels + c]) against \(squares)")
        }
    }

    @Test("scale, shift, activation and rounding into 8 bits (NaN to the lowest step): the same bytes on every instruction set, as the formula gives",
          arguments: [(Float(1), true), (0.1, true), (0, false), (1, false)])
    func quantize(slope: Float, signed: Bool) {
        var g = SeededGenerator(seed: 47)
        let (pixels, channels) = (70, 20)
        var x = Tensor.normal(shape: [pixels * channels], standardDeviation: 60, using: &g).scalars
        x[1] = .nan  // becomes the lowest step
        let scale = Tensor.normal(shape: [channels], mean: 1, standardDeviation: 0.5, using: &g).scalars
        var shift = Tensor.normal(shape: [channels], standardDeviation: 20, using: &g).scalars
        shift[0] = 0.5  // with scale 0 below: exactly half a step, a tie that rounds to even (0)
        var scales = scale
        scales[0] = 0
        let results: [[Int]] = Self.lanes.map { lanes in
            if signed {
                var y = [Int8](repeating: 0, count: pixels * channels)
                unet_quantize_s8(x, &y, pixels, channels, scales, shift, slope, lanes)
                return y.map(Int.init)
            }
            var y = [UInt8](repeating: 0, count: pixels * channels)
            unet_quantize_u8(x, &y, pixels, channels, scales, shift, slope, lanes)
            return y.map(Int.init)
        }
        for result in results.dropFirst() { #expect(result == results[0]) }
        let (low, high): (Float, Float) = signed ? (-128, 127) : (0, 255)
        let expected = (0..<pixels * channels).map { i -> Int in
            var y = x[i] * scales[i % channels] + shift[i % channels]
            y = y > 0 ? y : y * slope
            return y.isNaN ? Int(low) : Int(min(max(y, low), high).rounded(.toNearestOrEven))
        }
        #expect(results[0] == expected)
        #expect(results[0][0] == 0)
        // Both ends clip, except the negative end under a leaky slope, whose values stay small.
        #expect(Set(results[0]).isSuperset(of: slope == 1 || !signed ? [Int(low), Int(high)] : [Int(high)]))
    }

    @Test("scale, shift and activation rounded to bf16, ties to even (NaN stays NaN): the same bits on every instruction set, from float32 maps as the nearest bf16 to the formula, from bf16 maps as from their widened values",
          arguments: [Float(1), 0.1, 0])
    func roundIntoBF16(slope: Float) {
        var g = SeededGenerator(seed: 61)
        let (pixels, channels) = (70, 20)
        var x = Tensor.normal(shape: [pixels * channels], standardDeviation: 60, using: &g).scalars
        var scale = Tensor.normal(shape: [channels], mean: 1, standardDeviation: 0.5, using: &g).scalars
        var shift = Tensor.normal(shape: [channels], standardDeviation: 20, using: &g).scalars
        x[1] = .nan
        // Channels 2 and 3 pass their values through: two ties, halfway between neighbouring bf16s, one rounding down to
        // the even neighbour, one up.
        (scale[2], shift[2], scale[3], shift[3]) = (1, 0, 1, 0)
        (x[2], x[3]) = (1 + 0x1p-8, 1 + 3 * 0x1p-8)
        let results: [[UInt16]] = Self.lanes.map { lanes in
            var y = [UInt16](repeating: 0, count: pixels * channels)
            unet_round_bf16(x, &y, pixels, channels, scale, shift, slope, lanes)
            return y
        }
        for result in results.dropFirst() { #expect(result == results[0]) }
        let isNaN = { (bits: UInt16) in bits & 0x7F80 == 0x7F80 && bits & 0x7F != 0 }
        for i in 0..<pixels * channels {
            let c = i % channels
            var y = x[i] * scale[c]
            y += shift[c]
            y = y > 0 ? y : y * slope
            if y.isNaN {
                #expect(isNaN(results[0][i]), "\(i)")
            } else {
                #expect(results[0][i] == Self.nearestBF16(y), "\(i): \(y)")
            }
        }
        #expect(results[0][2] == 0x3F80 && results[0][3] == 0x3F82)
        let half = x.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
        let wide = half.map { Float(bitPattern: UInt32($0) << 16) }
        for lanes in Self.lanes {
            var (y, y16) = ([UInt16](repeating: 0, count: half.count), [UInt16](repeating: 1, count: half.count))
            unet_round_bf16(wide, &y, pixels, channels, scale, shift, slope, lanes)
            unet_round_bf16_bf16(half, &y16, pixels, channels, scale, shift, slope, lanes)
            #expect(y16 == y, "\(lanes) lanes")
        }
    }

    /// The bf16 nearest to `value` (finite), ties to the one with an even last bit: of the two bf16s around it.
    static func nearestBF16(_ value: Float) -> UInt16 {
        let below = UInt16(truncatingIfNeeded: value.bitPattern >> 16)  // toward zero
        let (near, far) = (Float(bitPattern: UInt32(below) << 16), Float(bitPattern: UInt32(below + 1) << 16))
        let (toNear, toFar) = (abs(Double(value) - Double(near)), abs(Double(far) - Double(value)))
        if toNear != toFar { return toNear < toFar ? below : below + 1 }
        return below % 2 == 0 ? below : below + 1
    }

    @Test("bf16 maps: the moments and the pass into 8 bits of a bf16 map are those of its values widened to float32, on every instruction set",
          arguments: [(99, 20), (70, 32)])
    func bf16Maps(pixels: Int, channels: Int) {
        var g = SeededGenerator(seed: 53)
        var half = Tensor.normal(shape: [pixels * channels], mean: 2, standardDeviation: 30, using: &g).scalars
            .map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
        let wide = { (half: [UInt16]) in half.map { Float(bitPattern: UInt32($0) << 16) } }
        let scale = Tensor.normal(shape: [channels], mean: 1, standardDeviation: 0.5, using: &g).scalars
        let shift = Tensor.normal(shape: [channels], standardDeviation: 20, using: &g).scalars
        for lanes in Self.lanes {
            let origin = Array(wide(half)[0..<channels])
            var (sum, squares) = ([Double](repeating: 0, count: channels), [Double](repeating: 0, count: channels))
            var (sum16, squares16) = (sum, squares)
            unet_channel_moments(wide(half), pixels, channels, origin, &sum, &squares, lanes)
            unet_channel_moments_bf16(half, pixels, channels, origin, &sum16, &squares16, lanes)
            #expect(sum16 == sum && squares16 == squares, "\(lanes) lanes")
        }
        half[channels + 1] = 0x7FC0  // NaN: the lowest step, as from float32
        for lanes in Self.lanes {
            var (signed, signed16) = ([Int8](repeating: 0, count: half.count), [Int8](repeating: 1, count: half.count))
            unet_quantize_s8(wide(half), &signed, pixels, channels, scale, shift, 0.1, lanes)
            unet_quantize_s8_bf16(half, &signed16, pixels, channels, scale, shift, 0.1, lanes)
            #expect(signed16 == signed, "\(lanes) lanes")
            var (unsigned, unsigned16) = ([UInt8](repeating: 0, count: half.count), [UInt8](repeating: 1, count: half.count))
            unet_quantize_u8(wide(half), &unsigned, pixels, channels, scale, shift, 0, lanes)
            unet_quantize_u8_bf16(half, &unsigned16, pixels, channels, scale, shift, 0, lanes)
            #expect(unsigned16 == unsigned, "\(lanes) lanes")
            #expect(Set(signed).count > 100 && unsigned[channels + 1] == 0)
        }
    }
}
