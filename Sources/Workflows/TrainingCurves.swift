import Foundation
import Reports

/// The training-curve image written at the end of training: loss, validation Dice and mIoU, and the learning
/// rate against the step, from `metrics.jsonl`.
public enum TrainingCurves {
    /// Renders `metricsLog` into a PNG at `path`.
    public static func write(metricsLog: String, to path: String) throws {
        try chart(records: MetricsLog.read(metricsLog)).render().writePNG(to: path)
    }

    /// The chart of a metrics log's text (`metrics.jsonl`, one JSON object per line; other lines are skipped).
    public static func chart(metricsText: String) -> LineChart {
        chart(records: MetricsLog.parse(metricsText))
    }

    private static func chart(records: [[String: Any]]) -> LineChart {
        func points(_ kind: String, _ key: String) -> [(x: Double, y: Double)] {
            records.filter { $0["kind"] as? String == kind }.compactMap { r in
                guard let step = r["step"] as? Double ?? (r["step"] as? Int).map(Double.init),
                    let value = r[key] as? Double ?? (r[key] as? Int).map(Double.init)
                else { return nil }
                return (step, value)
            }
        }
        let loss = smoothed(points("step", "loss"))
        return LineChart(panels: [
            .init(title: "loss", series: [
                .init(name: "training", points: loss, color: (31, 119, 180)),
                .init(name: "validation", points: points("validation", "loss"), color: (255, 127, 14)),
            ]),
            .init(title: "validation", series: [
                .init(name: "dice", points: points("validation", "dice"), color: (44, 160, 44)),
                .init(name: "miou", points: points("validation", "meanIoU"), color: (148, 103, 189)),
            ]),
            .init(title: "learning rate", series: [
                .init(name: "lr", points: points("step", "learningRate"), color: (214, 39, 40)),
            ], logarithmic: true),
        ])
    }

    /// A running mean over about 1% of the points, so the training loss reads as a curve.
    static func smoothed(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        let window = max(1, points.count / 100)
        guard window > 1 else { return points }
        return stride(from: 0, to: points.count, by: window).map { start in
            let slice = points[start..<min(points.count, start + window)]
            return (slice.last!.x, slice.map(\.y).reduce(0, +) / Double(slice.count))
        }
    }
}
