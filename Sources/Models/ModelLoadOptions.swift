/// How to interpret a model file whose layout is not self-described. Everything is optional: native files
/// and milesial / labml / tutorial checkpoints need none of it.
public struct ModelLoadOptions: Sendable {
    /// The architecture to build instead of detecting it (needed with `matchByShape`).
    public var architecture: UNetConfiguration?
    /// Override the detected padding (tutorial checkpoints cannot tell same from valid).
    public var padding: UNetConfiguration.Padding?
    /// Override the detected skip merge.
    public var merge: UNetConfiguration.SkipMerge?
    /// Match tensors to `architecture` by role and shape instead of by key (`StructuralMatcher`).
    public var matchByShape = false
    /// Rename keys with a rules file first (`KeyMapping`).
    public var keyMapping: KeyMapping?

    public init(architecture: UNetConfiguration? = nil, padding: UNetConfiguration.Padding? = nil,
                merge: UNetConfiguration.SkipMerge? = nil, matchByShape: Bool = false, keyMapping: KeyMapping? = nil) {
        self.architecture = architecture
        self.padding = padding
        self.merge = merge
        self.matchByShape = matchByShape
        self.keyMapping = keyMapping
    }
}
