"""The processor file of each partner (convention art. 3 and 11): its DPO, its authorised staff with their
history, its sub-processors."""
