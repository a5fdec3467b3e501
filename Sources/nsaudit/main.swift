import Glibc
import NSAuditCLI

// The shipped command: everything lives in NSAuditCLI (tested there without this binary).
exit(NSAudit.run(commandLine: CommandLine.arguments))
