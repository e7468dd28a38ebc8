"""Operations: agencies, operational levels, tasks and their acknowledgement."""
