/** Long-running commands end on SIGINT (Ctrl-C) or SIGTERM, closing cleanly; a second signal exits at once. */

export function waitForShutdown (onSecondSignal: () => void = () => process.exit(130)): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false
    const handler = (signal: NodeJS.Signals): void => {
      if (received) {
        onSecondSignal()
        return
      }
      received = true
      resolve(signal)
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  })
}
