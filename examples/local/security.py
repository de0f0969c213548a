# local/security.py
from typing import TypedDict
from heddle.core import Table

class HashConfig(TypedDict):
    algorithm: str
    rounds: int

def hash_password(config: HashConfig, input_table: Table) -> Table:
    # input_table is a zero-copy Apache Arrow table!
    arrow_data = input_table.to_pandas()
    
    # ... perform hashing logic ...
    
    return Table.from_pandas(arrow_data)
