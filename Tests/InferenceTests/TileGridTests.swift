import Inference
import Testing

@Suite("Sliding-window geometry")
struct TileGridTests {
    @Test("windows start at 0, end at the image's end, and overlap at least as asked")
    func origins() {
        for (length, tile, overlap) in [(1000, 256, 0.5), (513, 128, 0.25), (256, 256, 0.5), (300, 256, 0.0), (100, 256, 0.5)] {
            let o = TileGrid.origins(length: length, tile: tile, overlap: overlap)
            #expect(o.first == 0)
            #expect(o.last! + tile == max(length, tile) || length <= tile, "\(o)")
            for (a, b) in zip(o, o.dropFirst()) {
                #expect(b > a && Double(b - a) <= Double(tile) * (1 - overlap) + 1e-9, "\(length) \(tile) \(overlap): \(o)")
            }
        }
        #expect(TileGrid.origins(length: 1000, tile: 256, overlap: 0.5) == [0, 124, 248, 372, 496, 620, 744])
        // nnU-Net rounds 9.25·i half to even: 18.5 → 18, 27.75 → 28.
        #expect(TileGrid.origins(length: 61, tile: 24, overlap: 0.5) == [0, 9, 18, 28, 37])
    }

    @Test("aligned origins step by a multiple of the alignment and cover the length")
    func aligned() {
        let o = TileGrid.alignedOrigins(length: 1000, tile: 388, overlap: 0, alignment: 16)
        #expect(o == [0, 384, 768])
        let half = TileGrid.alignedOrigins(length: 500, tile: 388, overlap: 0.5, alignment: 16)
        #expect(half == [0, 192])
    }

    @Test("the Gaussian importance map peaks at 1 in the centre, is symmetric and never 0")
    func gaussian() {
        let w = Blending.gaussian.weights(height: 64, width: 64)
        #expect(w[32 * 64 + 32] == 1)
        #expect(w.min()! > 0)
        #expect(w[0] < 0.001)
        #expect(abs(w[10 * 64 + 20] - w[20 * 64 + 10]) < 1e-7)
        #expect(Blending.constant.weights(height: 4, width: 4) == [Float](repeating: 1, count: 16))
    }
}
