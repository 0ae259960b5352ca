import Graph

/// Post-training static quantization's calibration: the input range of each convolution an int8 network runs in
/// int8, chosen from the float32 network's activations on calibration images.
///
///     let calibrator = Int8Calibrator(rule: .percentile(99.99))
///     predictor.convolutionInputObserver = calibrator.observe
///     try calibrator.calibrate { _ in for image in images { _ = try predictor.logits(image) } }
///     let table = calibrator.quantization(images: images.count)
///
/// Rules: `max` keeps each input's largest magnitude (nothing clipped; one outlier widens every step);
/// `percentile(p)` keeps the magnitude below which p percent of the input's elements lie (zeros included), found in
/// a second pass as a histogram of 2048 bins up to the first pass's largest magnitude, and clips the rest. An input
/// whose negative values stay above `-limit/64` (none, after a ReLU; a few small ones, after nnU-Net's LeakyReLU of
/// slope 0.01) is quantized unsigned: 8 bits for `0...limit`, negative values as 0, which costs less than the bit
/// a signed range would spend on them. Under `percentile(p)` the negative values below `-limit/64` may be as many as
/// the share the rule clips (`100 - p` percent), counted in a histogram of their own: the rule clips the rare large
/// magnitudes, so the rare large negative values do not make a range signed either.
public final class Int8Calibrator {
    public enum Rule: Sendable, Equatable {
        case max
        case percentile(Double)
    }

    /// The percentile `unet quantize` keeps by default, and `unet bench` calibrates with.
    public static let defaultPercentile = 99.99

    public let rule: Rule
    /// The passes over the calibration images the rule needs: 1 for `max`, 2 for `percentile`.
    public var passes: Int { rule == .max ? 1 : 2 }
    /// The pass the observed values belong to (0 first).
    private var pass = 0
    private static let bins = 2048
    private var statistics: [String: Statistics] = [:]

    private struct Statistics {
        var minimum: Float = 0
        var largest: Float = 0
        var histogram: [Int] = []
        /// The magnitudes of the negative values, in the same bins.
        var negatives: [Int] = []
    }

    public init(rule: Rule) { self.rule = rule }

    /// Calls `run` once per pass the rule needs, with the pass's index (0 first); `run` sends every calibration input
    /// through a network that hands its convolutions' inputs to `observe`.
    public func calibrate(_ run: (_ pass: Int) throws -> Void) rethrows {
        for pass in 0..<passes {
            self.pass = pass
            try run(pass)
        }
    }

    /// Takes one forward pass's input of `convolution` (a `ConvolutionInputObserver`).
    public func observe(_ convolution: String, _ values: UnsafeBufferPointer<Float>) {
        var s = statistics[convolution] ?? Statistics()
        if pass == 0 {
            var (low, high): (Float, Float) = (s.minimum, s.largest)
            for v in values where v.isFinite {
                low = Swift.min(low, v)
                high = Swift.max(high, abs(v))
            }
            (s.minimum, s.largest) = (low, high)
        } else if s.largest > 0 {
            if s.histogram.isEmpty { (s.histogram, s.negatives) = (Array(repeating: 0, count: Self.bins), Array(repeating: 0, count: Self.bins)) }
            let perBin = Float(Self.bins) / s.largest
            s.histogram.withUnsafeMutableBufferPointer { h in
                s.negatives.withUnsafeMutableBufferPointer { n in
                    for v in values where v.isFinite {
                        let bin = Swift.min(Int(abs(v) * perBin), Self.bins - 1)
                        h[bin] += 1
                        if v < 0 { n[bin] += 1 }
                    }
                }
            }
        }
        statistics[convolution] = s
    }

    /// The table for the convolutions observed, from `images` calibration images.
    public func quantization(images: Int) -> Quantization {
        var inputs: [String: Quantization.InputRange] = [:]
        for (name, s) in statistics {
            var limit = s.largest
            var signed = s.minimum < -limit / 64
            if case .percentile(let p) = rule, !s.histogram.isEmpty {
                let total = s.histogram.reduce(0, +)
                let wanted = Int((Double(total) * p / 100).rounded(.up))
                var (count, bin) = (0, 0)
                while bin < Self.bins - 1 && count + s.histogram[bin] < wanted {
                    count += s.histogram[bin]
                    bin += 1
                }
                limit = s.largest * Float(bin + 1) / Float(Self.bins)
                // The negative values in the bins wholly below -limit/64.
                let deep = s.negatives[Swift.min(Int((limit / 64 / s.largest * Float(Self.bins)).rounded(.up)), Self.bins - 1)...].reduce(0, +)
                signed = deep > total - wanted
            }
            inputs[name] = Quantization.InputRange(limit: Swift.max(limit, 1e-6), signed: signed)
        }
        return Quantization(rule: ruleDescription, images: images, inputs: inputs)
    }

    private var ruleDescription: String {
        switch rule {
        case .max: "max"
        case .percentile(let p): "percentile \(p)"
        }
    }
}
