"""What every app shares and none owns: money and time as people read them. Imports nothing of the apps."""
