/// Settings the user fixed with flags before planning (`unet train --auto --base 32`): the planner keeps them and plans
/// the rest around them (a fixed width changes how many steps fit the budget).
public struct RecipeConstraints: Sendable, Equatable {
    public var scale: Double?
    public var base: Int?
    public var depth: Int?
    public var crop: Int?
    public var batchSize: Int?
    public var steps: Int?

    public init(scale: Double? = nil, base: Int? = nil, depth: Int? = nil, crop: Int? = nil, batchSize: Int? = nil, steps: Int? = nil) {
        self.scale = scale
        self.base = base
        self.depth = depth
        self.crop = crop
        self.batchSize = batchSize
        self.steps = steps
    }
}
