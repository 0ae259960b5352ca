import Models
import NN
import Tensors
import TestSupport
import Testing

@Suite("UNet configuration and gradients")
struct UNetTests {
    @Test("output sizes: the paper's 572 -> 388 (valid), labml's 572 -> 560 (crop), same + pad keeps the size")
    func sizes() {
        #expect(UNetConfiguration.tutorial(padding: .valid, merge: .crop).outputSize(forInputSize: 572) == 388)
        #expect(UNetConfiguration.labml().outputSize(forInputSize: 572) == 560)
        #expect(UNetConfiguration.milesial().outputSize(forInputSize: 1918) == 1918)
        #expect(UNetConfiguration.tutorial(padding: .valid, merge: .crop).outputSize(forInputSize: 100) == nil)
        #expect(UNetConfiguration.tutorial(padding: .valid, merge: .crop).minimumInputSize == 188)
        #expect(UNetConfiguration.milesial().minimumInputSize == 16)
    }

    @Test("parameterCount counts every trainable parameter, before any is allocated",
          arguments: [UNetConfiguration.milesial(inputChannels: 3, classes: 2, baseWidth: 6, depth: 3),
                      .milesial(inputChannels: 1, classes: 1, bilinear: true, baseWidth: 8, depth: 4),
                      .labml(inputChannels: 1, classes: 3, baseWidth: 4, depth: 2),
                      .tutorial(inputChannels: 3, classes: 5, baseWidth: 4, depth: 3, padding: .valid, merge: .crop)])
    func parameterCount(configuration: UNetConfiguration) throws {
        var g = SeededGenerator(seed: 1)
        let model = try UNet(configuration, generator: &g)
        #expect(configuration.parameterCount == Double(model.trainableParameters.reduce(0) { $0 + $1.value.count }))
    }

    @Test("widths and parameter counts past the limits are refused before anything is allocated")
    func limits() {
        var g = SeededGenerator(seed: 1)
        let error = #expect(throws: UNetError.self) { try UNet(.milesial(baseWidth: 1_000_000), generator: &g) }
        #expect(error?.description.contains("base width must be 1...65536") == true)
        let wide = #expect(throws: UNetError.self) { try UNet(.milesial(baseWidth: 512, depth: 6), generator: &g) }
        #expect(wide?.description.contains("parameters, more than the limit") == true, "\(String(describing: wide))")
    }

    @Test("invalid options and inputs give errors naming them")
    func invalid() throws {
        var g = SeededGenerator(seed: 1)
        #expect(throws: UNetError.self) { try UNet(.milesial(classes: 0), generator: &g) }
        #expect(throws: UNetError.self) { try UNet(.milesial(bilinear: true, baseWidth: 3), generator: &g) }
        var labmlWithBN = UNetConfiguration.labml()
        labmlWithBN.batchNorm = true
        #expect(throws: UNetError.self) { try UNet(labmlWithBN, generator: &g) }
        let model = try UNet(.milesial(inputChannels: 3, classes: 2, baseWidth: 2, depth: 2), generator: &g)
        let channels = #expect(throws: UNetError.self) { try model.graph(inputShape: [1, 1, 16, 16]) }
        #expect(try #require(channels).description.contains("3 input channels"))
        let small = #expect(throws: UNetError.self) { try model.graph(inputShape: [1, 3, 3, 16]) }
        #expect(try #require(small).description.contains("at least 4 pixels"))
    }

    @Test("odd sizes work in every merge mode", arguments: [UNetConfiguration.SkipMerge.pad, .crop])
    func oddSizes(merge: UNetConfiguration.SkipMerge) throws {
        var g = SeededGenerator(seed: 2)
        var c = UNetConfiguration.milesial(inputChannels: 1, classes: 2, baseWidth: 2, depth: 3)
        c.merge = merge
        let model = try UNet(c, generator: &g)
        let graph = try model.graph(inputShape: [1, 1, 37, 29])
        let side = [try #require(c.outputSize(forInputSize: 37)), try #require(c.outputSize(forInputSize: 29))]
        #expect(graph.shape(graph.output) == [1, 2] + side)
    }
}
