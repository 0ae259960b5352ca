import Foundation

/// Line charts stacked in one image: each panel one quantity against the training step (loss, validation
/// Dice, learning rate), with axis labels. Written as PNG.
public struct LineChart {
    public struct Series: Sendable {
        public let name: String
        public let points: [(x: Double, y: Double)]
        public let color: Canvas.Color
        public init(name: String, points: [(x: Double, y: Double)], color: Canvas.Color) {
            self.name = name
            self.points = points
            self.color = color
        }
    }

    public struct Panel: Sendable {
        public let title: String
        public let series: [Series]
        /// Plot the y axis on a log scale (learning rates).
        public let logarithmic: Bool
        public init(title: String, series: [Series], logarithmic: Bool = false) {
            self.title = title
            self.series = series
            self.logarithmic = logarithmic
        }
    }

    public let panels: [Panel]
    public let xLabel: String

    public init(panels: [Panel], xLabel: String = "step") {
        self.panels = panels
        self.xLabel = xLabel
    }

    /// Draws the panels one below the other, `width` pixels wide.
    public func render(width: Int = 900, panelHeight: Int = 260) -> Canvas {
        var canvas = Canvas(width: width, height: panels.count * panelHeight)
        for (index, panel) in panels.enumerated() { draw(panel, into: &canvas, top: index * panelHeight, width: width, height: panelHeight) }
        return canvas
    }

    private func draw(_ panel: Panel, into canvas: inout Canvas, top: Int, width: Int, height: Int) {
        let (left, right, plotTop, bottom) = (80, width - 20, top + 30, top + height - 40)
        canvas.text(panel.title, left, top + 10, (0, 0, 0), scale: 2)
        canvas.rectangle(left, plotTop, right - left, bottom - plotTop, (90, 90, 90))
        let all = panel.series.flatMap(\.points).filter { plotted($0, panel) }
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max() else {
            canvas.text("no data", left + 10, plotTop + 10, (120, 120, 120))
            return
        }
        func transform(_ y: Double) -> Double { panel.logarithmic ? log10(y) : y }
        var (minY, maxY) = (all.map { transform($0.y) }.min()!, all.map { transform($0.y) }.max()!)
        if maxY - minY < 1e-12 { (minY, maxY) = (minY - 0.5, maxY + 0.5) }
        let spanX = max(maxX - minX, 1e-12)
        // Fractions of the axes, computed in Double and clamped before becoming pixels: a log may hold 1e308.
        func px(_ x: Double) -> Int { left + Self.pixels((x - minX) / spanX, Double(right - left)) }
        func py(_ y: Double) -> Int { bottom - Self.pixels((transform(y) - minY) / (maxY - minY), Double(bottom - plotTop)) }
        // Axis labels: y at bottom, middle, top; x at both ends.
        for fraction in [0.0, 0.5, 1.0] {
            let value = minY + fraction * (maxY - minY)
            let shown = panel.logarithmic ? pow(10, value) : value
            let label = Self.format(shown)
            let y = bottom - Int(fraction * Double(bottom - plotTop))
            canvas.text(label, left - 6 - Canvas.textWidth(label), y - 3, (60, 60, 60))
            canvas.line(left - 3, y, left, y, (60, 60, 60))
        }
        canvas.text(Self.format(minX), left, bottom + 8, (60, 60, 60))
        let last = Self.format(maxX)
        canvas.text(last, right - Canvas.textWidth(last), bottom + 8, (60, 60, 60))
        canvas.text(xLabel, (left + right - Canvas.textWidth(xLabel)) / 2, bottom + 20, (60, 60, 60))
        // Series, with a legend.
        for (index, series) in panel.series.enumerated() {
            let points = series.points.filter { plotted($0, panel) }
            for (a, b) in zip(points, points.dropFirst()) {
                canvas.line(px(a.x), py(a.y), px(b.x), py(b.y), series.color, thickness: 2)
            }
            if points.count == 1 { canvas.line(px(points[0].x), py(points[0].y), px(points[0].x), py(points[0].y), series.color, thickness: 5) }
            let legendX = right - 160
            canvas.line(legendX, plotTop + 12 + 12 * index, legendX + 16, plotTop + 12 + 12 * index, series.color, thickness: 3)
            canvas.text(series.name, legendX + 22, plotTop + 9 + 12 * index, (40, 40, 40))
        }
    }

    /// Whether a point can be drawn: finite, and positive on a log scale.
    private func plotted(_ point: (x: Double, y: Double), _ panel: Panel) -> Bool {
        point.x.isFinite && point.y.isFinite && (!panel.logarithmic || point.y > 0)
    }

    /// `fraction` of `length` pixels, clamped to the axis (and 0 for a fraction that is not a number).
    static func pixels(_ fraction: Double, _ length: Double) -> Int {
        let value = fraction * length
        return value.isFinite ? Int(min(max(value, 0), length)) : 0
    }

    static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude == 0 { return "0" }
        if magnitude >= 1000 || magnitude < 0.01 { return String(format: "%.1e", value) }
        return String(format: magnitude >= 10 ? "%.0f" : "%.3f", value)
    }
}
