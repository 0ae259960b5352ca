/// How to interpret a model file whose layout is not self-described. Everything is optional: native files
/// and milesial / labml / tutorial checkpoints need none of it.
public struct ModelLoadOptions: Sendable {
    /// The architecture to build instead of detecting it (needed with `matchByShape` unless `overrides`
    /// describe it); `overrides` apply on top of it.
    public var architecture: UNetConfiguration?
    /// Options given explicitly: they complete a detected or described architecture (a tutorial
    /// checkpoint's padding and merge), and must agree with what a native file records.
    public var overrides: ArchitectureOverrides
    /// Match tensors to the architecture by role and shape instead of by key (`StructuralMatcher`).
    public var matchByShape = false
    /// Rename keys with a rules file first (`KeyMapping`).
    public var keyMapping: KeyMapping?

    public init(architecture: UNetConfiguration? = nil, overrides: ArchitectureOverrides = .init(),
                matchByShape: Bool = false, keyMapping: KeyMapping? = nil) {
        self.architecture = architecture
        self.overrides = overrides
        self.matchByShape = matchByShape
        self.keyMapping = keyMapping
    }
}
