// Upgrade scripts for saved configurations (none yet: this is the first version).
module.exports = []
