import Foundation

/// Where things live when flags do not say.
public enum Defaults {
    /// `$MATRYOSHKA_HOME` or `~/.matryoshka`.
    public static var home: String {
        if let home = ProcessInfo.processInfo.environment["MATRYOSHKA_HOME"], !home.isEmpty { return home }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".matryoshka")
    }

    public static var serverDataDirectory: String { home + "/server" }
    public static var agentDataDirectory: String { home + "/agent" }
    public static var agentSocketPath: String { home + "/agent/workload.sock" }
    public static var quickstartDirectory: String { home + "/quickstart" }
}
