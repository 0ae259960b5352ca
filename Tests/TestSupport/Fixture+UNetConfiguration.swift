import Models

extension Fixture {
    /// The U-Net configuration a model fixture's metadata describes (`layout`, `in_channels`, `classes`, `base`, ...).
    public func unetConfiguration() throws -> UNetConfiguration {
        guard let layout = UNetConfiguration.Layout(rawValue: try string("layout")) else {
            throw FixtureError("fixture \(name): unknown layout")
        }
        let (input, classes, base) = (try int("in_channels"), try int("classes"), try int("base"))
        switch layout {
        case .milesial:
            return .milesial(inputChannels: input, classes: classes, bilinear: try int("bilinear") == 1, baseWidth: base)
        case .labml:
            return .labml(inputChannels: input, classes: classes, baseWidth: base)
        case .tutorial:
            guard let padding = UNetConfiguration.Padding(rawValue: try string("padding")),
                  let merge = UNetConfiguration.SkipMerge(rawValue: try string("merge")) else {
                throw FixtureError("fixture \(name): unknown padding or merge")
            }
            return .tutorial(inputChannels: input, classes: classes, baseWidth: base, padding: padding, merge: merge)
        }
    }
}
