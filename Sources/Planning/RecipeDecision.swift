/// One setting of a recipe, as the flag that would set it, with the value chosen and why.
public struct RecipeDecision: Codable, Sendable, Equatable {
    /// The `unet train` flag (`--base`, `--crop`, ...).
    public var flag: String
    public var value: String
    public var reason: String

    public init(flag: String, value: String, reason: String) {
        self.flag = flag
        self.value = value
        self.reason = reason
    }
}
