import ArgumentParser

@main
struct GeoFrontCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geofront",
        abstract: "GeoFront: a geo-aware front door that sends each client to its nearest healthy region.",
        subcommands: [
            ServeCommand.self, RouteCommand.self, LookupCommand.self, CheckConfigCommand.self, SimulateCommand.self,
            DiffCommand.self, ConfigCommand.self, FleetCommand.self,
        ],
        defaultSubcommand: ServeCommand.self
    )
}
