from heddle.sdk.plugin import Plugin
from heddle.core.table import Table
from heddle.core.step import StepConfig
from heddle.core.resource import ResourceConfig, Resource

# 1. Define Specific Table Types
class CredentialsTable(Table):
    """Input: contains 'id' and 'password'."""
    pass

class SecureTable(Table):
    """Output: contains 'id' and 'hash'."""
    pass

# 2. Define Resource & Step Configurations
class VaultConfig(ResourceConfig):
    api_key: str

class HashConfig(StepConfig[VaultConfig]):
    algorithm: str

# 3. Define the Resource Instance
class Vault(Resource):
    def __init__(self, api_key: str):
        self.api_key = api_key

# 4. Initialize and Register
plugin = Plugin(namespace="security")

@plugin.resource(name="vault")
def init_vault(config: VaultConfig) -> Vault:
    return Vault(config.api_key)

@plugin.step(name="hash", resource="vault")
def hash_password(config: HashConfig, input: CredentialsTable) -> SecureTable:
    # The 'vault' resource is automatically injected into the config
    vault = config.resource 
    
    df = input.to_pandas() # Contains 'id' and 'password'
    # ... use vault.api_key for salt or pepper ...
    return SecureTable.from_pandas(df) # Returns 'id' and 'hash'

if __name__ == "__main__":
    plugin.serve()
