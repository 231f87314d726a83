"""hwsim.cost"""
